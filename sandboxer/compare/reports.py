"""The comparison as reports: terminal, JSON, Markdown (pull requests), JUnit XML (CI), HTML.

Every renderer leads with the summary (one line per output) and follows with details of the
outputs that did not pass. Names and messages are escaped for each format; cell values appear
only when the result holds samples, which the user asked for.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from sandboxer.compare.result import CompareResult, TableDiff, jsonable
from sandboxer.console import Console

STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}
STATUS_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️"}
REPORT_FILES = {
    "json": "compare.json",
    "markdown": "compare.md",
    "junit": "compare.junit.xml",
    "html": "compare.html",
}


def to_json(result: CompareResult) -> dict[str, Any]:
    """The ``sandboxer.compare/1`` document (see docs/compare-report.md)."""
    return result.to_json()


# -- shared pieces -------------------------------------------------------------------------
def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.4%}"


def _counts(t: TableDiff) -> str:
    r = t.rows
    parts = [f"rows {_n(r.baseline)} -> {_n(r.current)}"]
    if t.mode == "keyed" and r.matched is not None:
        parts.append(f"identical {_n(r.identical)}, modified {_n(r.modified)}, "
                     f"added {_n(r.added)}, removed {_n(r.removed)}")  # fmt: skip
    elif t.mode == "stats" and t.stats:
        parts.append(f"stats: {sum(bool(s.violations) for s in t.stats)} column(s) beyond limits")
    seen = t.expected_seen
    if seen:
        parts.append(f"{len(seen)} expected change(s)")
    return "; ".join(parts)


def _headline(result: CompareResult) -> str:
    s = result.summary
    verdict = "passed" if result.passed else "FAILED"
    return (f"compare {verdict}: {s['tables']} output(s), {s['passed']} passed, "
            f"{s['failed']} failed, {s['errors']} error(s)")  # fmt: skip


def _summary_rows(result: CompareResult) -> list[list[Any]]:
    return [
        [t.name, STATUS_WORD[t.status], _n(t.rows.baseline), _n(t.rows.current),
         _n(t.rows.identical), _n(t.rows.modified), _n(t.rows.added), _n(t.rows.removed)]
        for t in result.tables
    ]  # fmt: skip


SUMMARY_COLUMNS = ["output", "status", "baseline rows", "current rows", "identical", "modified",
                   "added", "removed"]  # fmt: skip


def _detail_tables(t: TableDiff) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, columns, rows) of every detail table of one output, empty ones left out."""
    out: list[tuple[str, list[str], list[list[Any]]]] = []
    s = t.schema
    schema_rows = (
        [[c.name, "added", "", c.type] for c in s.added]
        + [[c.name, "removed", c.type, ""] for c in s.removed]
        + [[c.name, "type changed", c.baseline, c.current] for c in s.type_changed]
    )
    if schema_rows:
        out.append(("schema", ["column", "change", "baseline", "current"], schema_rows))
    changed = [c for c in t.columns if c.differing or c.within_tolerance]
    if changed:
        out.append((
            "columns",
            ["column", "differing", "match rate", "null in baseline only",
             "null in current only", "conflicting", "within tolerance", "compared as"],
            [[c.name + (" (expected)" if c.expected else ""), _n(c.differing),
              _rate(c.match_rate), _n(c.null_in_baseline_only), _n(c.null_in_current_only),
              _n(c.conflicting), _n(c.within_tolerance), c.compared_as] for c in changed],
        ))  # fmt: skip
    beyond = [c for c in t.stats if c.violations]
    if beyond:
        rows = []
        for c in beyond:
            for stat in c.violations:
                rows.append([c.name + (" (expected)" if c.expected else ""), stat,
                             _fmt_stat(c.baseline.get(stat)), _fmt_stat(c.current.get(stat)),
                             _delta(c.deltas.get(stat))])  # fmt: skip
        out.append(("statistics beyond limits",
                    ["column", "statistic", "baseline", "current", "delta"], rows))  # fmt: skip
    if t.expected:
        out.append((
            "expected changes",
            ["kind", "column", "rows", "seen", "within limit", "reason"],
            [[e.kind, e.column or "*", _n(e.rows), "yes" if e.seen else "no",
              "yes" if e.within_limit else "no", e.reason] for e in t.expected],
        ))  # fmt: skip
    if t.duplicates is not None:
        d = t.duplicates
        out.append(("duplicate keys", ["side", "key values", "rows"],
                    [["baseline", _n(d.baseline_keys), _n(d.baseline_rows)],
                     ["current", _n(d.current_keys), _n(d.current_rows)]]))  # fmt: skip
    if t.samples:
        out.append(("samples (values from the snapshot's outputs)",
                    ["change", "key", "column", "baseline", "current"],
                    _sample_rows(t)))  # fmt: skip
    return out


def _sample_rows(t: TableDiff) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for sample in t.samples or []:
        key = ", ".join(f"{k}={_value(v)}" for k, v in sample.key.items())
        if not sample.columns:
            rows.append([sample.change, key, "", "", ""])
        for column, pair in sample.columns.items():
            rows.append([sample.change, key, column, _value(pair["baseline"]),
                         _value(pair["current"])])  # fmt: skip
    return rows


def _value(v: Any) -> str:
    v = jsonable(v)
    return "null" if v is None else str(v)


def _fmt_stat(v: Any) -> str:
    if v is None:
        return "null"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _delta(v: float | None) -> str:
    if v is None:
        return "-"
    return "inf" if v == float("inf") else f"{v:.4%}"


# -- terminal ------------------------------------------------------------------------------
def render_terminal(result: CompareResult, console: Console) -> None:
    """Summary first (one line per output), then the details of what did not pass."""
    console.info(_headline(result))
    width = max((len(t.name) for t in result.tables), default=0)
    for t in result.tables:
        console.info(f"  {STATUS_WORD[t.status]:<5} {t.name:<{width}}  {_counts(t)}")
    for t in result.tables:
        if t.status == "pass" and not t.warnings and not t.samples and not t.expected_seen:
            continue
        console.info("")
        console.info(f"{STATUS_WORD[t.status]} {t.name}")
        for reason in t.reasons:
            console.info(f"  - {reason}")
        for warning in t.warnings:
            console.warn(f"{t.name}: {warning}")
        for title, columns, rows in _detail_tables(t):
            console.table(f"{t.name}: {title}", columns, rows)


# -- Markdown ------------------------------------------------------------------------------
def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell or line (HTML escaped, pipes and newlines too)."""
    return html.escape(str(text)).replace("|", "&#124;").replace("\n", " ")


def _md_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_md(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return lines


def to_markdown(result: CompareResult) -> str:
    """A pull-request comment: headline, summary table, a collapsed section per failure."""
    lines = [f"### {STATUS_ICON['pass' if result.passed else 'fail']} sandboxer "
             f"{_md(_headline(result))}", ""]  # fmt: skip
    ids = [f"{label} `{_md(v)}`" for label, v in
           (("baseline", result.baseline_id), ("run", result.run_id)) if v]  # fmt: skip
    if ids:
        lines += [", ".join(ids), ""]
    rows = [[t.name, f"{STATUS_ICON[t.status]} {t.status}", *row[2:]]
            for t, row in zip(result.tables, _summary_rows(result), strict=True)]  # fmt: skip
    lines += _md_table(SUMMARY_COLUMNS, rows)
    for t in result.tables:
        if t.status == "pass" and not t.expected_seen and not t.samples:
            continue
        lines += ["", "<details>",
                  f"<summary><b>{_md(t.name)}</b>: {t.status}"
                  f"{' — ' + _md(t.reasons[0]) if t.reasons else ''}</summary>", ""]  # fmt: skip
        lines += [f"- {_md(r)}" for r in t.reasons]
        lines += [f"- warning: {_md(w)}" for w in t.warnings]
        for title, columns, table_rows in _detail_tables(t):
            lines += ["", f"**{_md(title)}**", "", *_md_table(columns, table_rows)]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


# -- JUnit XML -----------------------------------------------------------------------------
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: Any) -> str:
    """Text XML 1.0 can carry (ElementTree escapes markup, not control characters)."""
    return _XML_INVALID.sub("?", str(text))


def to_junit(result: CompareResult) -> str:
    """One testsuite ``sandboxer.compare``, one testcase per output."""
    import xml.etree.ElementTree as ET

    s = result.summary
    suite = ET.Element("testsuite", {
        "name": "sandboxer.compare", "tests": str(s["tables"]), "failures": str(s["failed"]),
        "errors": str(s["errors"]), "skipped": "0",
        "time": f"{sum(t.seconds for t in result.tables):.3f}",
    })  # fmt: skip
    for t in result.tables:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "sandboxer.compare", "name": _x(t.name), "time": f"{t.seconds:.3f}"},
        )
        if t.status == "pass":
            continue
        tag = "failure" if t.status == "fail" else "error"
        message = "; ".join(t.reasons) or t.status
        if len(message) > 500:
            message = message[:497] + "..."
        body = [*t.reasons, _counts(t), *(f"warning: {w}" for w in t.warnings)]
        element = ET.SubElement(case, tag, {"message": _x(message), "type": f"compare.{t.status}"})
        element.text = _x("\n".join(body))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


# -- HTML ----------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328;max-width:80rem}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:.95rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;margin:.3rem 0 1rem}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37}.fail{color:#cf222e}.error{color:#9a6700}
.badge{font-weight:600;text-transform:uppercase}ul{margin:.3rem 0}.muted{color:#656d76}
""".strip()


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_h(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{_h(v)}</td>' if re.fullmatch(r"[-\d.,%]+", str(v)) else
            f"<td>{_h(v)}</td>" for v in row) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(result: CompareResult) -> str:
    """One self-contained page: inline CSS, no scripts, no external assets, all text escaped."""
    status = "pass" if result.passed else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>sandboxer compare: {_h(status)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<h1 class="{status}">{_h(_headline(result))}</h1>',
    ]
    ids = [f"{label} <code>{_h(v)}</code>" for label, v in
           (("baseline", result.baseline_id), ("run", result.run_id)) if v]  # fmt: skip
    if ids:
        parts.append(f'<p class="muted">{", ".join(ids)}</p>')
    rows = _summary_rows(result)
    head = "".join(f"<th>{_h(c)}</th>" for c in SUMMARY_COLUMNS)
    body = "".join(
        f'<tr><td><a href="#t{i}">{_h(t.name)}</a></td>'
        f'<td class="badge {t.status}">{_h(t.status)}</td>'
        + "".join(f'<td class="n">{_h(v)}</td>' for v in row[2:]) + "</tr>"
        for i, (t, row) in enumerate(zip(result.tables, rows, strict=True))
    )  # fmt: skip
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    for i, t in enumerate(result.tables):
        parts.append(f'<h2 id="t{i}">{_h(t.name)} '
                     f'<span class="badge {t.status}">{_h(t.status)}</span></h2>')  # fmt: skip
        parts.append(f'<p class="muted">{_h(_counts(t))}</p>')
        if t.reasons or t.warnings:
            items = [f"<li>{_h(r)}</li>" for r in t.reasons]
            items += [f'<li class="error">warning: {_h(w)}</li>' for w in t.warnings]
            parts.append("<ul>" + "".join(items) + "</ul>")
        for title, columns, table_rows in _detail_tables(t):
            parts.append(f"<h3>{_h(title)}</h3>{_html_table(columns, table_rows)}")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- files ---------------------------------------------------------------------------------
def write_reports(result: CompareResult, directory: Path) -> dict[str, Path]:
    """Write compare.json, compare.md, compare.junit.xml and compare.html into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    texts = {
        "json": json.dumps(to_json(result), indent=2, sort_keys=False) + "\n",
        "markdown": to_markdown(result),
        "junit": to_junit(result),
        "html": to_html(result),
    }
    paths = {}
    for kind, text in texts.items():
        path = directory / REPORT_FILES[kind]
        path.write_text(text, encoding="utf-8")
        paths[kind] = path
    return paths
