"""PII leaves inside JSON documents, reported by normalized path.

The sampled documents are parsed and walked in Python (a sample of at most ``MAX_DOCUMENTS``);
every leaf is filed under its path with array indexes collapsed (``$.gift_recipients[*].email``).
The values found at one path form a column: the name rules run on the leaf's key (with the
parent key as context, so ``recipients[*].name`` is a person's name) and the value rules on the
values, exactly as for a table column.

Paths appear in findings and reports, so they must never carry a value: a key that does not
look like an identifier (``"jane@example.com": {...}``, ``"4711": ...``) and the keys of an
object used as a map (more than ``MAX_KEYS`` distinct keys at one place) are written ``*``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sandboxer.redact.detect.findings import Evidence, Finding
from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl

MAX_DOCUMENTS = 1000
MAX_KEYS = 64
JSON_SHARE = 0.8
"""A string column is JSON when this share of its sampled values parse as objects/arrays."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


def _parse(text: str) -> Any:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict | list) else None


def looks_like_json(values: pl.Series) -> bool:
    """True when most of ``values`` (non-null strings) are JSON objects or arrays."""
    head = [v for v in values.head(200).to_list() if v]
    if not head:
        return False
    shaped = [v for v in head if v[0] in "{["]
    if len(shaped) < JSON_SHARE * len(head):
        return False
    parsed = sum(_parse(v) is not None for v in shaped)
    return parsed >= JSON_SHARE * len(head)


def _walk(node: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], Any]]) -> None:
    if isinstance(node, dict):
        for key, child in node.items():
            _walk(child, (*path, f".{key}"), out)
    elif isinstance(node, list):
        for child in node:
            _walk(child, (*path, "[*]"), out)
    elif node is not None and not isinstance(node, bool):
        out.append((path, node))


def _normalizer(leaves: list[tuple[tuple[str, ...], Any]]) -> dict[tuple[str, ...], str]:
    """Map each raw key segment (under its parent path) to what may be printed."""
    keys_at: dict[tuple[str, ...], set[str]] = {}
    for path, _ in leaves:
        for i, segment in enumerate(path):
            if segment != "[*]":
                keys_at.setdefault(path[:i], set()).add(segment)
    shown: dict[tuple[str, ...], str] = {}
    for parent, keys in keys_at.items():
        is_map = len(keys) > MAX_KEYS
        for segment in keys:
            key = segment[1:]
            safe = not is_map and bool(_IDENTIFIER.match(key)) and not key.isdigit()
            shown[(*parent, segment)] = segment if safe else ".*"
    return shown


def _leaf_columns(docs: pl.Series) -> tuple[dict[str, list[Any]], dict[str, tuple[str, str]], int]:
    """Values per printable path, (leaf key, parent key) per path, documents parsed."""
    leaves: list[tuple[tuple[str, ...], Any]] = []
    parsed = 0
    for text in docs.drop_nulls().head(MAX_DOCUMENTS).to_list():
        doc = _parse(text) if isinstance(text, str) else None
        if doc is None:
            continue
        parsed += 1
        _walk(doc, (), leaves)
    shown = _normalizer(leaves)
    columns: dict[str, list[Any]] = {}
    keys: dict[str, tuple[str, str]] = {}
    for path, value in leaves:
        printable = [
            segment if segment == "[*]" else shown[path[: i + 1]] for i, segment in enumerate(path)
        ]
        name = "$" + "".join(printable)
        columns.setdefault(name, []).append(value)
        if name not in keys:
            segments = [s for s in printable if s != "[*]"]
            key = segments[-1][1:] if segments and segments[-1] != ".*" else ""
            parent = segments[-2][1:] if len(segments) > 1 and segments[-2] != ".*" else ""
            keys[name] = (key, parent)
    return columns, keys, parsed


def _as_series(name: str, values: list[Any]) -> pl.Series:
    import polars as pl

    if all(isinstance(v, int) for v in values):
        return pl.Series(name, values, dtype=pl.Int64, strict=False)
    if all(isinstance(v, int | float) for v in values):
        return pl.Series(name, [float(v) for v in values], dtype=pl.Float64)
    return pl.Series(name, [v if isinstance(v, str) else json.dumps(v) for v in values])


def _leaf_findings(docs: pl.Series, threshold: float) -> tuple[list[Finding], int]:
    from sandboxer.redact.detect.column import detect_column

    columns, keys, parsed = _leaf_columns(docs)
    findings: list[Finding] = []
    for path, values in columns.items():
        key, parent = keys[path]
        series = _as_series(key or "value", values)
        found = detect_column(key, series, threshold=threshold, table=parent)
        if not found:
            continue
        best = found[0]
        evidence: Evidence = {"json_path": path, **best.evidence}
        findings.append(Finding(docs.name, best.entity, best.confidence, "json", evidence, (path,)))
    return sorted(findings, key=lambda f: (-f.confidence, f.json_paths)), parsed


def json_leaf_findings(docs: pl.Series, *, threshold: float = 0.6) -> list[Finding]:
    """PII leaves inside JSON documents (strings), at any depth, arrays included.

    One finding per PII path, best first: ``source="json"``, ``json_paths=(path,)``, ``column``
    the documents' column name, the leaf's entity and its evidence counts. ``suggested_strategy``
    is the strategy for that path.
    """
    return _leaf_findings(docs, threshold)[0]


def json_document_finding(name: str, docs: pl.Series, *, threshold: float) -> Finding | None:
    """One ``json`` finding for a column of JSON documents, listing its PII paths."""
    leaves, parsed = _leaf_findings(docs.alias(name), threshold)
    if not leaves:
        return None
    evidence: Evidence = {
        "sampled": docs.len(),
        "non_null": docs.len() - docs.null_count(),
        "parsed": parsed,
    }
    paths: list[str] = []
    for leaf in sorted(leaves, key=lambda f: f.json_paths):
        path = leaf.json_paths[0]
        paths.append(path)
        evidence[path] = leaf.entity.value
    confidence = max(leaf.confidence for leaf in leaves)
    return Finding(name, Entity.json, confidence, "json", evidence, tuple(paths))
