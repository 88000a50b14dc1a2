"""Property-based: random YAML to the scenario loader, random arguments to the CLI.

Never a traceback: a scenario loads or is refused with one ``UsageError`` line;
the CLI ends with exit 0, 1, 2 or 3. No browser is started (a stand-in that
fails like a missing Chromium), so each example takes milliseconds.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

import fixtures.mock_site
import probe.cli
from probe.cli import Environment, main
from probe.errors import InfraError, UsageError
from probe.scenarios import SCENARIO_DIR, parse_scenario

# Hypothesis keeps caches in a folder; not in the work tree.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="probe-hypothesis-"))
FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["ok", "totp", "none", "sms", "desktop", "refused", "sellercentral.amazon.co.jp", "/", "日本"]),
)
KEYS = [
    "name",
    "title",
    "site",
    "accounts",
    "email",
    "password",
    "two_step",
    "credentials",
    "expect",
    "verdict",
    "browser",
    "cookies",
    "history",
]
KEYS += ["network", "start", "remedy", "persistent", "totp_secret", "domain"]
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)
OK = yaml.safe_load((SCENARIO_DIR / "ok.yaml").read_text(encoding="utf-8"))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


OK_PATHS = [p for p in _paths(OK) if p]


def _replaced(path: tuple[Any, ...], value: Any) -> Any:
    document = yaml.safe_load(yaml.safe_dump(OK))
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return document


def _loads_or_refuses(text: str) -> None:
    message = ""
    try:
        parse_scenario(text, "random.yaml")
    except UsageError as exc:
        message = str(exc)
    assert "\n" not in message
    assert not message or message.startswith("random.yaml")


@FAST
@given(documents)
def test_random_documents_load_or_are_refused_in_one_line(document: Any) -> None:
    _loads_or_refuses(yaml.safe_dump(document, allow_unicode=True))


@FAST
@given(st.sampled_from(OK_PATHS), documents)
def test_a_valid_scenario_with_one_value_replaced(path: tuple[Any, ...], value: Any) -> None:
    _loads_or_refuses(yaml.safe_dump(_replaced(path, value), allow_unicode=True))


@FAST
@given(st.text(alphabet=st.sampled_from(list("abk:-[]{}&*!|>'\"#%@`, \n\t?.0日")), max_size=200))
def test_random_yaml_text_loads_or_is_refused_in_one_line(text: str) -> None:
    _loads_or_refuses(text)


WORDS = ["run", "list", "diagnose", "classify", "reset", "mock", "help", "--scenario", "--all", "-k", "--json",
         "--junit", "--out", "--workers", "--headed", "--url", "--device", "--profile", "--origin", "--all-sites",
         "--yes", "--port", "--bind", "-v", "-vv", "--version", "-h", "--", "-", "ok", "cookies", "otp_*", "0", "-5",
         "99999", "http://[::1", "http://x:abc/", "https://sellercentral.amazon.co.jp/", "out", "out/x", "j.xml",
         ".", "/", "/proc", "iphone", "not", "and", "(", ")", "--scenario=ok", "--port=-1"]  # fmt: skip
argvs = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=8)


class NoBrowser:
    """Fails as a machine without Chromium does."""

    def __init__(self, **_: Any) -> None:
        raise InfraError("no Chromium in this test")


class NoMock:
    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def start(self) -> None:
        raise OSError(98, "Address already in use")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scratch working folder (arguments may name files), no browser, no mock server."""
    folder = tmp_path_factory.mktemp("argv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(probe.cli, "BrowserSession", NoBrowser)
        patch.setattr(fixtures.mock_site, "MockServer", NoMock)
        patch.chdir(folder)
        yield folder


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=argvs)
def test_random_arguments_end_in_0_to_3_without_a_traceback(sandbox: Path, argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, Environment(stdout=out, stderr=err, env={"NO_COLOR": "1"}, stdin=io.StringIO()))
    assert code in (0, 1, 2, 3), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert "internal error" not in err.getvalue(), (argv, err.getvalue())
    if code == 2:
        assert err.getvalue().strip(), argv
    assert os.getcwd() == str(sandbox)
