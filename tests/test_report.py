"""Rendering results: the confusion table, JUnit failures typed by verdict."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from probe.report import Result, confusion_table, junit_xml, render_many


def result(name: str, verdict: str, expected: str) -> Result:
    return Result(name, "タイトル", verdict, "detail", expected, verdict == expected, None, False)


RESULTS = [
    result("a", "ok", "ok"),
    result("b", "ok", "ok"),
    result("c", "credentials_invalid", "ok"),
    result("d", "unrecognized", "unrecognized"),
]


def test_confusion_table_counts_expected_against_got() -> None:
    lines = confusion_table(RESULTS).splitlines()
    assert lines[0].split()[-3:] == ["1", "2", "3"]
    assert lines[1].split() == ["1", "ok", "2", "1!", "."]
    assert lines[2].split() == ["3", "unrecognized", ".", ".", "1"]
    assert lines[3].strip() == "2 credentials_invalid (got, never expected)"


def test_summary_line_counts_mismatches() -> None:
    assert "3/4 scenarios as expected, 1 mismatched" in render_many(RESULTS)


def test_junit_failure_type_is_the_verdict_got() -> None:
    suite = ET.fromstring(junit_xml(RESULTS))
    assert suite.get("failures") == "1"
    [failure] = suite.iter("failure")
    assert failure.get("type") == "credentials_invalid"
    assert failure.get("message") == "got credentials_invalid, expected ok"
