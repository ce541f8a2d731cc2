"""The data engine interface: what a sandbox's snapshot is loaded into, and how the load is
verified against the snapshot's manifest (row counts, content checksums).

An engine is either embedded (a database file the workspace opens itself: DuckDB) or a server
in a service container of the sandbox (PostgreSQL). Backends choose how to host it by the
capability flags below, never by the engine's name.
"""

from __future__ import annotations

import abc
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sandboxer.errors import SandboxerError

if TYPE_CHECKING:
    from sandboxer.sandbox.templates import DataEngine
    from sandboxer.snapshot.store import SnapshotInfo


class LoadError(SandboxerError):
    """A snapshot could not be loaded or does not verify in the data engine."""


@dataclass
class LoadReport:
    """What a load did: per table ``{"rows", "expected", "checksum", "checksum_ok"}``."""

    engine: str
    tables: dict[str, dict[str, Any]]
    seconds: float
    ok: bool
    snapshot_id: str | None = None
    target: str | None = None
    """The DuckDB file, or the PostgreSQL URL without credentials."""
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (PostgreSQL: verify_files, create, copy, constraints, ...)."""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def finish_report(
    engine: str,
    snapshot: SnapshotInfo,
    target: str,
    tables: dict[str, dict[str, Any]],
    started: float,
    **extra: Any,
) -> LoadReport:
    """The report of a load or verification that began at ``started`` (``perf_counter``): ok
    when every table has the manifest's row count and checksum."""
    ok = all(t["checksum_ok"] and t["rows"] == t["expected"] for t in tables.values())
    return LoadReport(
        engine=engine,
        tables=tables,
        seconds=round(time.perf_counter() - started, 3),
        ok=ok,
        snapshot_id=snapshot.id,
        target=target,
        **extra,
    )


@dataclass(frozen=True)
class WorkspaceLoader:
    """A self-contained script that loads a snapshot inside the workspace container:
    ``python3 MOUNT SNAPSHOT_DIR TARGET [--replace]``, printing its report as a JSON line."""

    path: Path
    """The script on this machine (mounted read-only into the workspace)."""
    mount: str
    """Where the workspace sees it."""

    def command(
        self, snapshot_dir: str, target: str, *, replace: bool = False, python: str = "python3"
    ) -> list[str]:
        """The argv that loads the snapshot at ``snapshot_dir`` (as the workspace sees it)."""
        return [python, self.mount, snapshot_dir, target, *(["--replace"] if replace else [])]


class Engine(abc.ABC):
    """A sandbox data engine. Subclasses are registered in ``sandboxer.sandbox.engines``."""

    name: ClassVar[str]
    """Its key in the registry, in templates (``data.engine``) and in a sandbox's connections."""
    label: ClassVar[str]
    """Its name in messages."""
    embedded: ClassVar[bool]
    """A database file the workspace opens itself: loaded there, reset by swapping the file."""
    service_kind: ClassVar[str | None] = None
    """The kind of template service that runs the server (None for embedded engines)."""
    port: ClassVar[int | None] = None
    """The server's port inside the sandbox network (None for embedded engines)."""
    password_file: ClassVar[bool] = False
    """Clients log in with a password read from the service's secret file."""
    workspace_loader: ClassVar[WorkspaceLoader | None] = None
    """Loads the snapshot inside the workspace (None: this process loads it over the network)."""
    password_setup: ClassVar[str | None] = None
    """Shell run in the workspace at every start: the clients' password file from the secret."""

    def service(self, data: DataEngine) -> str | None:
        """The template service the snapshot is loaded into (None: the workspace's file)."""
        return None if self.embedded else data.service

    @abc.abstractmethod
    def workspace_env(self, data: DataEngine, *, secret_dir: str) -> dict[str, str]:
        """Environment of the workspace that points clients at the data (``secret_dir``: where
        the workspace sees the sandbox's secret files)."""

    @abc.abstractmethod
    def load(self, snapshot: SnapshotInfo, target: str, *, replace: bool = False) -> LoadReport:
        """Load ``snapshot`` into ``target`` (a database file or a connection URL) from this
        process, verify counts and checksums, return the report. Raises ``LoadError``."""

    @abc.abstractmethod
    def verify(self, snapshot: SnapshotInfo, target: str) -> LoadReport:
        """Recompute counts and checksums of a loaded ``target`` against the snapshot's files."""
