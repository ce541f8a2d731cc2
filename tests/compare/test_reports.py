"""Reports of a comparison: JSON schema (golden keys), Markdown, JUnit XML, HTML, terminal."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandboxer.compare import CompareResult, TableDiff
from sandboxer.compare.reports import (
    render_terminal,
    to_html,
    to_json,
    to_junit,
    to_markdown,
    write_reports,
)
from sandboxer.console import Console
from tests.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden"
BASE = {"id": [1, 2, 3], "v": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}


@pytest.fixture
def result(diff_of: Callable[..., TableDiff]) -> CompareResult:
    """Four outputs: pass, fail (with samples), error (duplicates), a stats fail; odd names."""
    changed = {"id": [1, 2, 4], "v": [1.0, 2.5, 4.0], "s": ["a", "<i>b</i>", "d"],
               "extra": [0, 0, 0]}  # fmt: skip
    dup = {"id": [1, 1, 3], "v": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}
    tables = [
        diff_of(BASE, BASE, name="ok_table"),
        diff_of(
            BASE,
            changed,
            name='<b>bad & "quoted"</b>',
            samples=5,
            tolerances={"v": {"abs": 0.1}},
            expected=[{"kind": "rows_added"}],
        ),
        diff_of(BASE, dup, name="dups"),
        diff_of(BASE, changed, name="stats|pipe", key=None),
    ]
    return CompareResult(tables=tables, baseline_id="base-1", run_id="run-2")


FREE_FORM = ("stats[].baseline", "stats[].current", "stats[].deltas", "samples[].key",
             "samples[].columns", "columns[].tolerance")  # fmt: skip


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON document; list items collapse to ``[]``."""
    paths = set()
    # Free-form maps (statistics, sample values, a tolerance) contribute their own name only.
    if prefix.endswith(FREE_FORM):
        return set()
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            paths.add(path)
            paths |= key_paths(v, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, prefix + "[]")
    return paths


@pytest.mark.golden
def test_json_schema_is_stable(result: CompareResult) -> None:
    doc = to_json(result)
    assert doc["schema"] == "sandboxer.compare/1"
    json.dumps(doc, allow_nan=False)  # strictly valid JSON
    keys = sorted(key_paths(doc))
    # A change here is a change of the documented schema (docs/compare-report.md): adding a
    # field is fine (refresh with `make golden`), renaming or removing one is not.
    assert_golden(GOLDEN / "report_keys.json", json.dumps(keys, indent=1) + "\n")
    assert doc["summary"] == {"tables": 4, "passed": 1, "failed": 2, "errors": 1}
    assert doc["passed"] is False


def untimed(result: CompareResult) -> CompareResult:
    """The result with every output's duration set to 0: ``seconds`` is wall-clock time of
    this machine and run, the one part of a report that fixed input does not fix."""
    tables = [dataclasses.replace(t, seconds=0.0) for t in result.tables]
    return dataclasses.replace(result, tables=tables)


@pytest.mark.golden
def test_json_report_golden(result: CompareResult) -> None:
    # Column statistics are rounded by the report itself (``compare.result.statistic``): the
    # same comparison on one thread or several writes the same JSON.
    doc = to_json(untimed(result))
    text = json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"
    assert_golden(GOLDEN / "report_four_outputs.json", text)


@pytest.mark.golden
def test_markdown_report_golden(result: CompareResult) -> None:
    assert_golden(GOLDEN / "report_four_outputs.md", to_markdown(untimed(result)))


@pytest.mark.golden
def test_junit_report_golden(result: CompareResult) -> None:
    assert_golden(GOLDEN / "report_four_outputs.junit.xml", to_junit(untimed(result)))


def test_markdown_has_summary_table(result: CompareResult) -> None:
    md = to_markdown(result)
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| output |"))
    assert lines[header + 1].startswith("|---|")
    rows = lines[header + 2 : header + 6]
    assert [r.split("|")[1].strip() for r in rows] == [
        "ok_table", "&lt;b&gt;bad &amp; &quot;quoted&quot;&lt;/b&gt;", "dups", "stats&#124;pipe",
    ]  # fmt: skip
    assert md.count("<details>") == 3  # the three outputs that did not pass
    assert "<b>bad" not in md


def test_junit_parses_with_failures_and_errors(result: CompareResult) -> None:
    root = ET.fromstring(to_junit(result))
    assert root.tag == "testsuite"
    assert root.get("name") == "sandboxer.compare"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "1")
    cases = root.findall("testcase")
    assert [c.get("name") for c in cases] == [t.name for t in result.tables]
    assert len(root.findall("testcase/failure")) == 2
    assert len(root.findall("testcase/error")) == 1
    failure = cases[1].find("failure")
    assert failure is not None
    assert "1 rows removed" in (failure.get("message") or "")
    assert "1 rows removed" in (failure.text or "")


def test_html_is_self_contained_and_escaped(result: CompareResult) -> None:
    page = to_html(result)
    assert "<script" not in page
    assert "<link" not in page
    assert "<b>bad" not in page
    assert "&lt;b&gt;bad &amp; &quot;quoted&quot;&lt;/b&gt;" in page
    assert "&lt;i&gt;b&lt;/i&gt;" in page  # a sample value, escaped
    assert page.startswith("<!DOCTYPE html>")


def test_samples_appear_in_reports_only_when_present(
    diff_of: Callable[..., TableDiff],
) -> None:
    changed = {"id": [1, 2, 3], "v": [1.0, 2.0, 3.0], "s": ["a", "secret-b", "c"]}
    without = CompareResult(tables=[diff_of(BASE, changed)])
    for text in (to_markdown(without), to_html(without), to_junit(without),
                 json.dumps(to_json(without))):  # fmt: skip
        assert "secret-b" not in text
    with_samples = CompareResult(tables=[diff_of(BASE, changed, samples=1)])
    assert "secret-b" in to_markdown(with_samples)


class Recorder(Console):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tables: list[tuple[str, list[str], list[list[Any]]]] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def warn(self, message: str) -> None:
        self.lines.append("warning: " + message)

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.tables.append((title, columns, rows))


def test_terminal_summary_first_then_details(result: CompareResult) -> None:
    console = Recorder()
    render_terminal(result, console)
    assert console.lines[0].startswith("compare FAILED: 4 output(s), 1 passed, 2 failed")
    summary = console.lines[1:5]
    assert [line.split()[0] for line in summary] == ["PASS", "FAIL", "ERROR", "FAIL"]
    assert "identical 1, modified 1, added 1, removed 1" in summary[1]
    titles = [t[0] for t in console.tables]
    assert '<b>bad & "quoted"</b>: columns' in titles
    assert "dups: duplicate keys" in titles


def test_write_reports(result: CompareResult, tmp_path: Path) -> None:
    paths = write_reports(result, tmp_path / "reports")
    assert {p.name for p in paths.values()} == {"compare.json", "compare.md",
                                                "compare.junit.xml", "compare.html"}  # fmt: skip
    assert json.loads(paths["json"].read_text())["schema"] == "sandboxer.compare/1"
    ET.parse(paths["junit"])
