"""``probe serve``: the Prometheus exporter, a real server, its metrics read with prometheus-client's own parser."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from fixtures.mock_site import MockServer, SiteConfig
from probe.exporter import check_metrics
from probe.fleet import FleetResult, GeneratedFleet, generate_fleet, parse_fleet
from probe.report import Result

from .test_connect import Started, start


def samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(found: list[Sample], name: str, **labels: str) -> float:
    matching = [s.value for s in found if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, (name, labels, found)
    return matching[0]


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, GeneratedFleet, Started]]:
    generated = generate_fleet(3, mix=("ok", "wrong_password", "two_step_off"), seed="exporter")
    folder = tmp_path_factory.mktemp("serve")
    with MockServer(SiteConfig.model_validate(generated.site)) as mock:
        path = generated.write(folder / "fleet.yaml", mock.url())
        server = start([sys.executable, "-m", "probe", "serve", "--port", "0", "--fleet", str(path)], env=generated.env)
        try:
            url = server.wait_for(r"probe exporter on (http://\S+)").group(1)
            yield url, generated, server
        finally:
            assert server.stop() == 0  # SIGTERM ends it cleanly, the browser closed


def test_probe_an_account_that_signs_in(exporter: tuple[str, GeneratedFleet, Started]) -> None:
    url, generated, _ = exporter
    status, kind, body = get(f"{url}/probe?target=shop-001")
    assert status == 200, body
    assert kind.startswith("text/plain")
    found = samples(body)
    assert value(found, "probe_success") == 1
    assert value(found, "probe_login_verdict", verdict="ok") == 1
    phases = {s.labels["phase"]: s.value for s in found if s.name == "probe_duration_seconds"}
    assert {"navigate", "email", "password"} <= set(phases), phases
    assert all(seconds >= 0 for seconds in phases.values())
    assert value(found, "probe_check_duration_seconds") >= sum(phases.values()) * 0.5
    for secret in generated.env.values():
        assert secret not in body


def test_probe_an_account_that_cannot(exporter: tuple[str, GeneratedFleet, Started]) -> None:
    url, generated, _ = exporter
    status, _, body = get(f"{url}/probe?target=shop-002")
    assert status == 200, body
    found = samples(body)
    assert value(found, "probe_success") == 0
    assert value(found, "probe_login_verdict", verdict="credentials_invalid") == 1
    assert [s.labels["verdict"] for s in found if s.name == "probe_login_verdict"] == ["credentials_invalid"]
    for secret in generated.env.values():
        assert secret not in body


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("?target=nobody", "unknown target 'nobody': not an account of the fleet file\n"),
        ("", "no target: ask for /probe?target=ACCOUNT_NAME\n"),
        ("?target=", "no target: ask for /probe?target=ACCOUNT_NAME\n"),
    ],
)
def test_an_unknown_target_is_400_in_one_line(
    exporter: tuple[str, GeneratedFleet, Started], query: str, says: str
) -> None:
    url, _, _ = exporter
    status, _, body = get(f"{url}/probe{query}")
    assert status == 400
    assert body == says


def test_the_exporters_own_metrics(exporter: tuple[str, GeneratedFleet, Started]) -> None:
    url, _, _ = exporter
    get(f"{url}/probe?target=shop-003")
    get(f"{url}/probe?target=nobody")
    status, _, body = get(f"{url}/metrics")
    assert status == 200
    found = samples(body)
    assert value(found, "probe_exporter_checks_total", verdict="two_step_not_enabled") == 1
    assert value(found, "probe_exporter_errors_total") == 0
    assert value(found, "probe_exporter_bad_requests_total") >= 1
    assert value(found, "probe_exporter_checks_in_flight") == 0
    assert value(found, "probe_exporter_fleet_accounts") == 3
    assert value(found, "probe_exporter_check_duration_seconds_count") >= 1
    assert value(found, "process_resident_memory_bytes") > 0


def test_check_metrics_of_a_result() -> None:
    fleet = parse_fleet(
        {"accounts": [{"name": "a", "marketplace": "jp", "email": "a@example.jp", "password": {"env": "A"}}]}
    )
    result = Result(
        "a",
        "",
        "otp_rejected",
        "The code was refused.",
        "ok",
        False,
        "fresh_code",
        True,
        attempts=1,
        duration_s=3.2,
        phases=[
            {"name": "navigate", "url": "u", "duration_ms": 300, "remedy": None},
            {"name": "2sv", "url": "u", "duration_ms": 500, "remedy": None},
            {"name": "remedy", "url": "u", "duration_ms": 1000, "remedy": "fresh_code"},
            {"name": "remedy", "url": "u", "duration_ms": 250, "remedy": "reset_cookies"},
        ],
    )
    found = samples(check_metrics(FleetResult(fleet.accounts[0], result)).decode())
    assert value(found, "probe_success") == 0
    assert value(found, "probe_duration_seconds", phase="remedy") == 1.25
    assert value(found, "probe_duration_seconds", phase="2sv") == 0.5
    assert value(found, "probe_login_verdict", verdict="otp_rejected") == 1
    assert value(found, "probe_login_remedy_verified") == 1
    assert value(found, "probe_check_duration_seconds") == 3.2
    # The probe's own failure: no verdict at all (never told as the seller's).
    failed = samples(check_metrics(FleetResult(fleet.accounts[0], error="browser gone")).decode())
    assert [s.name for s in failed] == ["probe_success"]


def test_a_taken_port_is_exit_3(tmp_path: Path) -> None:
    import socket

    from .conftest import run_cli

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "accounts: [{name: a, marketplace: jp, email: a@example.jp, password: {env: A_PW}}]\n", encoding="utf-8"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--fleet", str(fleet), "--port", str(port), env={"A_PW": "x"}, timeout=60)
    assert done.returncode == 3
    assert done.stderr.startswith(f"probe: failed: cannot listen on 127.0.0.1:{port}")
    assert done.stderr.count("\n") == 1
