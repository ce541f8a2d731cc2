"""PII detection: by column name, by value, inside free text and inside JSON documents.

    names.py     multilingual column-name dictionary, matched on tokens
    values.py    validators over a sample (Luhn, mod-97, phone metadata, name lists ...)
    text.py      PII spans in free text: counted (leak gate) and scrubbed (vectorised)
    jsonpaths.py PII leaves in JSON documents, by normalized path
    column.py    how the signals combine into findings

Findings carry counts and rule names, never a sampled value.
"""

from __future__ import annotations

from sandboxer.redact.detect.column import detect_column, detect_frame, detect_tables
from sandboxer.redact.detect.findings import Finding
from sandboxer.redact.detect.jsonpaths import json_leaf_findings
from sandboxer.redact.detect.text import find_spans, scrub_expr, scrub_series

__all__ = [
    "Finding",
    "detect_column",
    "detect_frame",
    "detect_tables",
    "find_spans",
    "json_leaf_findings",
    "scrub_expr",
    "scrub_series",
]
