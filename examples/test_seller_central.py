"""Tests that start signed in to Amazon Seller Central, with the probe's pytest plugin.

    pytest examples/test_seller_central.py                    # against the bundled mock
    pytest examples/test_seller_central.py \
        --probe-target https://sellercentral.amazon.co.jp/    # a live target: PROBE_EMAIL, PROBE_PASSWORD, ...
"""

import re

import pytest
from playwright.sync_api import Page, expect

from probe.report import Result


def test_home_page(seller_central_page: Page) -> None:
    # Signed in, the account picked, on the home page: the test starts here.
    expect(seller_central_page).to_have_url(re.compile(r"/home"))
    expect(seller_central_page.locator("h1").first).to_be_visible()


def test_orders_page(seller_central_page: Page) -> None:
    # The session carries on: the menu opens the orders page without another sign-in
    # (the mock's menu; point the locator at your own pages).
    seller_central_page.locator("nav").get_by_role("link", name=re.compile("注文|Orders")).first.click()
    expect(seller_central_page).to_have_url(re.compile(r"/orders"))


def test_sign_in_verdict(probe_diagnosis: Result) -> None:
    # The probe's own result of the sign-in, for tests that check the sign-in itself.
    assert probe_diagnosis.verdict == "ok", probe_diagnosis.detail


@pytest.mark.probe_scenario("cookies")
def test_stale_cookies_are_diagnosed(probe_diagnosis: Result) -> None:
    # A scenario of the bundled mock: old cookies send the seller back to the sign-in page.
    assert probe_diagnosis.verdict == "stale_browser_data"
    assert probe_diagnosis.remedy == "reset_cookies"
    assert probe_diagnosis.remedy_verified
