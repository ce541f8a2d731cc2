"""Sandbox state files: the one place readiness lives.

Layout inside the snapshot store root (default ``.sandboxer/``)::

    sandboxes/<project>/<name>.json     state file, written atomically as the LAST step of create
    sandboxes/<project>/<name>/         the sandbox's own directory: secret files (docker),
                                        the virtual environment and DuckDB file (process)

Docker labels cannot change after a resource is created, so "ready" cannot be a label: a
sandbox whose resources exist without a state file is ``partial`` (an interrupted create).
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sandboxer.errors import SandboxerError
from sandboxer.snapshot.store import StoreLayout, lock_held, write_json_atomic

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
"""Sandbox names become container, network and volume names and paths."""

STATE_FORMAT = "sandboxer.sandbox/1"
PROCESS_MARKER = ".process-sandbox"
"""Written first into a process sandbox's directory: which backend's ``gc`` owns it."""


def validate_name(name: str) -> str:
    """Return ``name`` if it is safe as a container/volume name and a file name."""
    if not NAME_RE.match(name) or ".." in name:
        raise SandboxerError(
            f"Invalid sandbox name `{name}`",
            hint="Use 1-48 lowercase letters, digits, `-`, `_` or `.`, starting with a letter "
            "or digit, e.g. `alice-dev`.",
        )
    return name


def project_id(project_dir: Path) -> str:
    """A stable identity for a project: its directory name plus a short hash of its path.

    Two checkouts with the same folder name get different ids; the id is safe in Docker
    names and labels (``[a-z0-9-]`` only).
    """
    resolved = project_dir.expanduser().resolve()
    slug = re.sub(r"[^a-z0-9]+", "-", resolved.name.lower()).strip("-")[:24] or "project"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return f"{slug}-{digest}"


class StateStore:
    """State files of sandboxes under ``<store_root>/sandboxes``."""

    def __init__(self, store_root: Path) -> None:
        self.root = StoreLayout(Path(store_root)).sandboxes

    def path(self, project: str, name: str) -> Path:
        return self.root / _safe_segment(project) / f"{validate_name(name)}.json"

    def sandbox_dir(self, project: str, name: str) -> Path:
        """The sandbox's own directory (secrets, venv, data); created by the backend."""
        return self.root / _safe_segment(project) / validate_name(name)

    def write(self, project: str, name: str, payload: dict[str, Any]) -> Path:
        """Write the state file atomically (tmp + fsync + rename + fsync of the directory)."""
        path = self.path(project, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"format": STATE_FORMAT, **payload})
        return path

    def read(self, project: str, name: str) -> dict[str, Any] | None:
        """The state, or None when there is no (readable) state file."""
        return _read(self.path(project, name))

    def list(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every readable state file, optionally of one project, sorted by project and name."""
        if not self.root.exists():
            return []
        dirs = [self.root / _safe_segment(project)] if project else sorted(self.root.iterdir())
        states = []
        for d in dirs:
            if not d.is_dir():
                continue
            for f in sorted(d.glob("*.json")):
                state = _read(f)
                if state is not None:
                    states.append(state)
        return states

    def delete(self, project: str, name: str, *, remove_dir: bool = True) -> None:
        """Remove the state file first (the sandbox stops being ready), then its directory."""
        self.path(project, name).unlink(missing_ok=True)
        if remove_dir:
            d = self.sandbox_dir(project, name)
            if d.exists():
                shutil.rmtree(d, ignore_errors=True)
        parent = self.root / _safe_segment(project)
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

    def lock_path(self, project: str, name: str) -> Path:
        return self.root / _safe_segment(project) / f".{validate_name(name)}.lock"

    @contextlib.contextmanager
    def create_lock(self, project: str, name: str) -> Iterator[None]:
        """Held for the whole of a create, so ``gc`` never removes a live create's resources
        (a killed create releases it: the kernel drops the flock with the process)."""
        path = self.lock_path(project, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SandboxerError(
                    f"Another create of sandbox `{name}` is running",
                    hint="Wait for it; a killed create releases the lock by itself.",
                ) from None
            yield
        finally:
            os.close(fd)

    def create_running(self, project: str, name: str) -> bool:
        """Whether a create of this sandbox holds its lock right now."""
        try:
            path = self.lock_path(project, name)
        except SandboxerError:
            return False
        return lock_held(path)

    def orphan_dirs(self) -> builtins.list[tuple[str, str, Path]]:
        """Sandbox directories without a state file: (project, name, path)."""
        out: builtins.list[tuple[str, str, Path]] = []
        if not self.root.exists():
            return out
        for pdir in sorted(self.root.iterdir()):
            if not pdir.is_dir():
                continue
            for d in sorted(pdir.iterdir()):
                if d.is_dir() and NAME_RE.match(d.name) and not (pdir / f"{d.name}.json").exists():
                    out.append((pdir.name, d.name, d))
        return out


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == STATE_FORMAT else None


def _safe_segment(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,80}", value) or ".." in value:
        raise SandboxerError(f"Invalid project id `{value}`")
    return value


def report_dict(report: Any) -> dict[str, Any]:
    """A load report (``LoadReport`` or dict) as the JSON dict kept in the state file."""
    if isinstance(report, dict):
        return report
    from dataclasses import asdict, is_dataclass

    if is_dataclass(report) and not isinstance(report, type):
        return asdict(report)
    return dict(vars(report))


def check_report(report: dict[str, Any]) -> None:
    """Raise unless every table loaded with the manifest's row count and checksum."""
    if report.get("ok"):
        return
    bad = [
        f"{key}: {t.get('rows')} rows loaded, manifest says {t.get('expected')}"
        + ("" if t.get("checksum_ok", True) else ", checksum differs")
        for key, t in sorted(report.get("tables", {}).items())
        if t.get("rows") != t.get("expected") or not t.get("checksum_ok", True)
    ]
    raise SandboxerError(
        "The loaded data does not match the snapshot manifest",
        hint="; ".join(bad[:10]) or str(report.get("error", "no detail")),
    )


def strip_format(state: dict[str, Any]) -> dict[str, Any]:
    """A state read back, ready to be written again."""
    return {k: v for k, v in state.items() if k != "format"}
