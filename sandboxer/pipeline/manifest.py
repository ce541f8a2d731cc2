"""The run manifest: what ``run.json`` records about a pipeline run (``RunManifest``), with the
results of its steps and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sandboxer.snapshot.manifest import ManifestModel, VersionedManifest

FORMAT = "sandboxer.run/1"
RUN_MANIFEST = "run.json"
"""The manifest's file name in a run directory."""


@dataclass
class StepResult:
    name: str
    kind: str
    status: str
    """``passed`` | ``failed`` | ``skipped`` (not run after an earlier failure)."""
    depends_on: list[str] = field(default_factory=list)
    inferred: bool = False
    seconds: float | None = None
    exit_code: int | None = None
    log: str | None = None
    """The step's log, relative to the run directory."""
    tail: list[str] = field(default_factory=list)
    """Last lines of its output, for a failed step."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class OutputResult:
    name: str
    path: str
    """The Parquet file, relative to the run directory."""
    rows: int
    sha256: str
    bytes: int
    columns: list[dict[str, str]]
    table: str | None = None
    file: str | None = None
    key: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class GitState(ManifestModel):
    """The project's repository when the run started (None outside a repository)."""

    commit: str | None
    dirty: bool | None


class RunManifest(VersionedManifest):
    """``run.json``: written when a run ends (also when it fails or is interrupted)."""

    FORMAT: ClassVar[str] = FORMAT
    KIND: ClassVar[str] = "run manifest"

    format: str = FORMAT
    run_id: str
    status: str
    """``passed`` | ``failed`` | ``interrupted``."""
    error: str | None
    failed_step: str | None
    started_at: str
    finished_at: str
    seconds: float
    project_dir: str
    git: GitState
    sandbox: str
    snapshot_id: str | None
    dataset: str | None
    template: str | None
    backend: str
    engine: str
    dialect: str
    steps: list[StepResult]
    outputs: dict[str, OutputResult]
