"""The sandbox backend interface. Docker is the default; ``process`` runs without an engine
(not isolated, and says so); a Kubernetes backend (namespace + pods) fits the same calls."""

from __future__ import annotations

import abc
import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sandboxer.console import Console
    from sandboxer.sandbox.templates import Template
    from sandboxer.snapshot.store import SnapshotInfo

LABEL_PREFIX = "io.sandboxer"
"""Every resource carries ``io.sandboxer.*`` labels: sandbox, project, template, created,
tool version, role. ``list`` and ``gc`` find resources only by these labels."""


@dataclass
class SandboxSpec:
    """What ``create`` needs: resolved template, snapshot, project, options."""

    name: str
    project: str
    """Project identity (the config directory's name plus a short hash of its path)."""
    project_dir: Path
    template: Template
    snapshot: SnapshotInfo
    ttl_seconds: int | None = None
    replace: bool = False

    def state(self, backend: str, engine: str, created_at: str) -> dict[str, Any]:
        """The state fields every backend records for the sandbox it created from this spec
        (each adds its connections, resources, load report and timings)."""
        return {
            "backend": backend,
            "name": self.name,
            "project": self.project,
            "project_dir": str(self.project_dir.resolve()),
            "template": self.template.name,
            "template_spec": self.template.model_dump(mode="json"),
            "dataset": self.snapshot.dataset,
            "snapshot_id": self.snapshot.id,
            "created_at": created_at,
            "ttl_seconds": self.ttl_seconds,
            "engine": engine,
        }


@dataclass
class SandboxInfo:
    """What ``list``/``status``/``create`` report."""

    name: str
    backend: str
    state: str
    """``creating`` | ``ready`` | ``stopped`` | ``failed`` | ``partial`` (left by an
    interrupted create: never shown as ready; ``gc`` removes it)."""
    template: str | None = None
    dataset: str | None = None
    snapshot_id: str | None = None
    created_at: str | None = None
    isolated: bool = True
    enter: str | None = None
    """The command a person types to get a shell (``sandboxer shell NAME``)."""
    connections: dict[str, str] = field(default_factory=dict)
    """Connection strings, e.g. ``{"duckdb": "/data/sandbox.duckdb", "postgres":
    "postgresql://sandbox@127.0.0.1:49153/sandbox"}`` (no passwords: they are secret files)."""
    resources: dict[str, Any] = field(default_factory=dict)
    """Container ids, network, volume names; for people and tests."""
    load: dict[str, Any] = field(default_factory=dict)
    """Data load report: per table rows loaded vs manifest, checksum check, seconds."""
    key_fingerprint: str | None = None
    """Fingerprint of the redaction key of the loaded snapshot (set by ``list``/``status``)."""
    key_notice: str | None = None
    """Set when the dataset's latest snapshot was redacted with another key: what to do."""

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        *,
        backend: str,
        status: str,
        isolated: bool,
        enter: str | None = None,
    ) -> SandboxInfo:
        """The info of a sandbox from its state file (the same shape for every backend)."""
        return cls(
            name=state["name"],
            backend=backend,
            state=status,
            template=state.get("template"),
            dataset=state.get("dataset"),
            snapshot_id=state.get("snapshot_id"),
            created_at=state.get("created_at"),
            isolated=isolated,
            enter=enter or f"sandboxer shell {state['name']}",
            connections=dict(state.get("connections", {})),
            resources={"project": state["project"], **state.get("resources", {})},
            load=dict(state.get("load", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


class SandboxBackend(abc.ABC):
    name: ClassVar[str]
    isolated: ClassVar[bool] = True

    def __init__(self, console: Console | None = None, **options: Any) -> None:
        from sandboxer.console import NoopConsole

        self.console = console or NoopConsole()
        self.options = options

    @abc.abstractmethod
    def create(self, spec: SandboxSpec) -> SandboxInfo:
        """Build/reuse the image, create network/volume/services, load the snapshot, verify,
        run hooks. Interrupted at any point: leaves nothing ``list`` shows as ready."""

    @abc.abstractmethod
    def list(self, project: str | None = None) -> list[SandboxInfo]: ...

    @abc.abstractmethod
    def status(self, name: str, project: str) -> SandboxInfo: ...

    @abc.abstractmethod
    def exec(
        self, name: str, project: str, command: Sequence[str], *, interactive: bool = False
    ) -> int:
        """Run a command in the workspace; stream its output; return its exit code."""

    @abc.abstractmethod
    def logs(self, name: str, project: str, *, follow: bool = False) -> None: ...

    @abc.abstractmethod
    def stop(self, name: str, project: str) -> None: ...

    @abc.abstractmethod
    def start(self, name: str, project: str) -> SandboxInfo: ...

    @abc.abstractmethod
    def reset(self, name: str, project: str, snapshot: SnapshotInfo) -> SandboxInfo:
        """Reload the dataset fresh (drop and load again), verify."""

    @abc.abstractmethod
    def destroy(self, name: str, project: str) -> None:
        """Remove containers, network and volumes (or the process directory)."""

    @abc.abstractmethod
    def gc(self, *, ttl_seconds: int | None = None) -> builtins.list[str]:
        """Remove resources of sandboxes that are partial, gone, or older than the TTL.
        Never touches resources without sandboxer's labels."""
