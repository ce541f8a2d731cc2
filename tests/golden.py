"""Golden files: the checked-in text that something turning input into text must produce.

A golden test renders its output (a report, a manifest, a policy file) from fixed input with
fixed seeds, replaces whatever depends on the clock or the machine with a placeholder (each
test says which fields and why), and calls ``assert_golden``. A mismatch fails with a unified
diff; an intended change is accepted by refreshing every golden file at once::

    make golden        # SANDBOXER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q -m golden

and reviewing the resulting ``git diff`` like any other change.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE_ENV = "SANDBOXER_UPDATE_GOLDEN"
REFRESH = f"make golden  (or {UPDATE_ENV}=1 .venv/bin/python -m pytest -q -m golden)"
DIFF_LINES = 60
REPO = Path(__file__).resolve().parent.parent


def updating() -> bool:
    """True when golden files are being rewritten (``SANDBOXER_UPDATE_GOLDEN=1``)."""
    return os.environ.get(UPDATE_ENV) == "1"


def assert_golden(path: Path, text: str) -> None:
    """Fail with a unified diff unless ``text`` is exactly the content of ``path``.

    With ``SANDBOXER_UPDATE_GOLDEN=1`` the file is (re)written instead. Files are compared and
    written as UTF-8 bytes, so line endings and a final newline count.
    """
    shown = _display(path)
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"Golden file {shown} is missing. Write it with: {REFRESH}", pytrace=False)
    expected = path.read_bytes().decode("utf-8")
    if text == expected:
        return
    diff = list(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{shown} (golden)",
            tofile=f"{shown} (now)",
        )
    )
    more = len(diff) - DIFF_LINES
    body = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        for line in diff[:DIFF_LINES]
    )
    if more > 0:
        body += f"... {more} more diff lines\n"
    pytest.fail(
        f"Output differs from the golden file {shown}:\n{body}"
        f"If the change is intended, refresh the golden files with: {REFRESH}",
        pytrace=False,
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)
