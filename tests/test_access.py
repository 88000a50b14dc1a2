"""`probe access` against the mock: a secondary user may open orders but not inventory."""

from __future__ import annotations

import json

from fixtures.mock_site import JP, MockServer, SiteConfig

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, run_cli

STAFF = "tanaka.staff@example.jp"
STAFF_PASSWORD = "Tanaka-Staff-2025!"
STAFF_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
MERCHANT = {"name": "さくら雑貨店", "merchant_id": "A1SAKURAMOCK", "marketplaces": ["jp"]}


def with_staff(mock: MockServer) -> dict[str, str]:
    """Fresh state: the primary user and a secondary one (orders: view); the secondary's credentials."""
    primary = {"email": EMAIL, "password": PASSWORD, "totp_secret": TOTP_SECRET, "merchants": [MERCHANT]}
    staff = {
        "email": STAFF,
        "password": STAFF_PASSWORD,
        "totp_secret": STAFF_SECRET,
        "role": "secondary",
        "permissions": {"orders": "view"},
        "merchants": [MERCHANT],
    }
    mock.configure(SiteConfig.model_validate({"accounts": [primary, staff]}))
    return {"PROBE_EMAIL": STAFF, "PROBE_PASSWORD": STAFF_PASSWORD, "PROBE_TOTP_SECRET": STAFF_SECRET}


def test_table_names_the_denied_tool_and_exits_1(mock: MockServer) -> None:
    env = with_staff(mock)
    done = run_cli("access", "--url", mock.url(JP), "--tool", "orders", "--tool", "inventory", env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "sign-in  ok"
    orders = next(line for line in lines if line.startswith("orders "))
    inventory = next(line for line in lines if line.startswith("inventory "))
    assert orders.split()[1:4] == ["allowed", "200", "/orders-v3"]
    assert inventory.split()[1:4] == ["denied", "403", "/inventory"]
    assert "「在庫」の権限" in inventory
    assert STAFF_PASSWORD not in done.stdout + done.stderr


def test_json_lists_every_tool_the_profile_knows(mock: MockServer) -> None:
    env = with_staff(mock)
    done = run_cli("access", "--url", mock.url(JP), "--json", env=env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "ok"
    rights = {t["tool"]: (t["allowed"], t["status"]) for t in report["tools"]}
    assert rights == {
        "orders": (True, 200),
        "inventory": (False, 403),
        "reports": (False, 403),
        "user_permissions": (False, 403),
    }
    denied = next(t for t in report["tools"] if t["tool"] == "inventory")
    assert denied["url"] == mock.url(JP, "/inventory")
    assert "このページへのアクセス権限がありません" in denied["message"]
    assert next(t for t in report["tools"] if t["tool"] == "orders")["message"] == ""


def test_only_allowed_tools_exit_0(mock: MockServer) -> None:
    env = with_staff(mock)
    done = run_cli("access", "--url", mock.url(JP), "--tool", "orders", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [t["tool"] for t in json.loads(done.stdout)["tools"]] == ["orders"]


def test_a_failed_sign_in_checks_no_tool_and_exits_1(mock: MockServer) -> None:
    env = with_staff(mock)
    env["PROBE_PASSWORD"] = "not-the-password"
    done = run_cli("access", "--url", mock.url(JP), "--tool", "orders", "--json", env=env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "credentials_invalid"
    assert report["tools"] == []


def test_an_unknown_tool_is_a_usage_error(mock: MockServer) -> None:
    done = run_cli("access", "--url", mock.url(JP), "--tool", "invntory", env=with_staff(mock))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "probe: error: unknown tool 'invntory'; known: inventory, orders, reports, user_permissions"
    )
