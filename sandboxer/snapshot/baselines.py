"""Baselines: the outputs a pipeline is compared with, versioned in the snapshot store.

A baseline is a directory ``<store>/baselines/<id>/`` with ``outputs/<name>.parquet`` and
``baseline.json`` (``BaselineManifest``: snapshot id, git commit, origin, sha256 and rows of
every file). Its id is derived from its content; it is published atomically by the snapshot
store (``LocalStore.publish_dir``) and verified by checksum.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sandboxer import __version__
from sandboxer.errors import StoreError, did_you_mean
from sandboxer.snapshot.manifest import (
    ManifestModel,
    VersionedManifest,
)
from sandboxer.snapshot.store import LocalStore, read_manifest
from sandboxer.snapshot.writer import sha256_file

MANIFEST = "baseline.json"


class BaselineMissing(StoreError):
    exit_code = 2


FORMAT = "sandboxer.baseline/1"


class BaselineOutput(ManifestModel):
    file: str
    """The Parquet file, relative to the baseline directory."""
    rows: int
    bytes: int
    sha256: str


class BaselineManifest(VersionedManifest):
    """``baseline.json``."""

    FORMAT: ClassVar[str] = FORMAT
    KIND: ClassVar[str] = "baseline manifest"

    format: str = FORMAT
    id: str
    snapshot_id: str | None
    commit: str | None
    """The git commit the outputs were produced at (None when imported)."""
    dirty: bool | None
    origin: str
    """``working tree``, ``git ref <ref>`` or ``imported from <dir>``."""
    tool_version: str
    created_at: str
    outputs: dict[str, BaselineOutput]
    run: dict[str, str]
    """The run that produced the outputs (``{"run_id": ...}``); empty when imported."""


@dataclass(frozen=True)
class BaselineInfo:
    id: str
    path: Path
    manifest: BaselineManifest

    @property
    def outputs_dir(self) -> Path:
        return self.path / "outputs"


class BaselineStore:
    """The baselines of a local store (``<root>/baselines``)."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.root = store.layout.baselines

    def publish(
        self,
        outputs: Path,
        *,
        snapshot_id: str | None,
        commit: str | None,
        dirty: bool | None,
        origin: str,
        run: dict[str, str] | None = None,
    ) -> BaselineInfo:
        """Copy ``outputs/*.parquet`` into a new baseline, atomically."""
        files = sorted(outputs.glob("*.parquet"))
        if not files:
            raise StoreError(
                f"No Parquet outputs in {outputs}",
                hint="A baseline needs one <output>.parquet per declared output.",
            )
        import pyarrow.parquet as pq

        try:
            with self.store.staged_dir("baseline") as staged:
                (staged / "outputs").mkdir()
                written: dict[str, BaselineOutput] = {}
                for f in files:
                    target = staged / "outputs" / f.name
                    shutil.copyfile(f, target)
                    try:
                        rows = pq.ParquetFile(target).metadata.num_rows
                    except Exception as e:  # pyarrow raises several types for broken footers
                        raise StoreError(
                            f"{f} is not a readable Parquet file ({type(e).__name__})"
                        ) from None
                    written[f.stem] = BaselineOutput(
                        file=f"outputs/{f.name}",
                        rows=rows,
                        bytes=target.stat().st_size,
                        sha256=sha256_file(target),
                    )
                content = {
                    "snapshot_id": snapshot_id,
                    "commit": commit,
                    "outputs": {k: v.sha256 for k, v in sorted(written.items())},
                }
                bid = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
                manifest = BaselineManifest(
                    id=bid[:16],
                    snapshot_id=snapshot_id,
                    commit=commit,
                    dirty=dirty,
                    origin=origin,
                    tool_version=__version__,
                    created_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                    outputs=written,
                    run=run or {},
                )
                (staged / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
                self.store.publish_dir(staged, self.root / manifest.id)
        except OSError as e:
            raise self.store.disk_error(e, "publishing a baseline") from e
        return self.get(manifest.id)

    def list(self) -> builtins.list[BaselineInfo]:
        if not self.root.exists():
            return []
        infos = [self._info(p) for p in self.root.iterdir() if (p / MANIFEST).is_file()]
        return sorted(infos, key=lambda i: (i.manifest.created_at, i.id), reverse=True)

    def _info(self, path: Path) -> BaselineInfo:
        manifest = read_manifest(BaselineManifest, path / MANIFEST, "Baseline")
        return BaselineInfo(path.name, path, manifest)

    def get(self, ref: str) -> BaselineInfo:
        if (self.root / ref / MANIFEST).is_file():
            return self._info(self.root / ref)
        ids = [i.id for i in self.list()]
        matches = [i for i in ids if i.startswith(ref)]
        if len(matches) == 1 and len(ref) >= 4:
            return self._info(self.root / matches[0])
        raise StoreError(
            f"No baseline `{ref}`",
            hint=did_you_mean(ref, ids) or "List them with `sandboxer baseline list`.",
        )

    def resolve(self, ref: str | None, *, snapshot_id: str | None = None) -> BaselineInfo:
        """An id (or prefix), a git commit (prefix), or the newest baseline of the snapshot."""
        infos = self.list()
        if ref:
            by_commit = [
                i
                for i in infos
                if (i.manifest.commit or "").startswith(ref)
                and (snapshot_id is None or i.manifest.snapshot_id == snapshot_id)
            ]
            if by_commit and len(ref) >= 7:
                return by_commit[0]
            return self.get(ref)
        matching = [
            i for i in infos if snapshot_id is None or i.manifest.snapshot_id == snapshot_id
        ]
        if not matching:
            # Nothing to compare with is a set-up problem, not a failed comparison: exit 2.
            raise BaselineMissing(
                "No baseline for this snapshot" + (f" ({snapshot_id})" if snapshot_id else ""),
                hint="Capture one with `sandboxer baseline capture --ref main` (or `--from DIR`).",
            )
        return matching[0]

    def verify(self, info: BaselineInfo) -> builtins.list[str]:
        problems: builtins.list[str] = []
        for name, meta in sorted(info.manifest.outputs.items()):
            path = info.path / meta.file
            if not path.is_file():
                problems.append(f"{meta.file}: missing")
            elif path.stat().st_size != meta.bytes or sha256_file(path) != meta.sha256:
                problems.append(f"{meta.file}: checksum mismatch ({name})")
        return problems
