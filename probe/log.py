"""Logging, configured once as a structlog processor chain.

Human-readable on a terminal, JSON lines elsewhere (CI). Every event passes
the redactor, and events bound to a run (``run=NAME``) are also kept for that
run's ``log.jsonl`` artifact.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

from .redact import SECRETS

_runs: dict[str, list[dict[str, Any]]] = {}
_runs_lock = threading.Lock()


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    redacted: MutableMapping[str, Any] = SECRETS.redact_obj(dict(event))
    return redacted


def _collect(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    run = event.get("run")
    if run is not None:
        with _runs_lock:
            events = _runs.get(run)
            if events is not None:
                events.append(dict(event))
    return event


_LEVELS = logging.getLevelNamesMapping()


def _threshold(level: int) -> Any:
    def drop_below(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if _LEVELS.get(method.upper(), logging.INFO) < level:
            raise structlog.DropEvent
        return event

    return drop_below


def _unwanted(level: int) -> Any:
    """Drop at once what nobody will see: below the threshold, and of no run being collected."""

    def drop_unwanted(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if _LEVELS.get(method.upper(), logging.INFO) < level and event.get("run") not in _runs:
            raise structlog.DropEvent
        return event

    return drop_unwanted


def configure(verbosity: int = 0, *, json_lines: bool | None = None, stream: TextIO | None = None) -> None:
    """``verbosity`` 0 shows warnings, 1 info (one event per phase), 2 debug."""
    stream = stream or sys.stderr
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    if json_lines is None:
        json_lines = not stream.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _unwanted(level),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            _collect,
            _threshold(level),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


@contextmanager
def run_events(run: str) -> Iterator[list[dict[str, Any]]]:
    """Collect the events logged with ``run=run`` while the block runs."""
    events: list[dict[str, Any]] = []
    with _runs_lock:
        _runs[run] = events
    try:
        yield events
    finally:
        with _runs_lock:
            _runs.pop(run, None)
