"""The snapshot store: where snapshots live, how they are published atomically.

Layout of the local store (default ``.sandboxer/`` beside sandboxer.yaml), named in one place,
``StoreLayout``::

    snapshots/<id>/manifest.json     a published snapshot (immutable)
    snapshots/<id>/data/*.parquet
    refs/<dataset>.json              {"latest": "<id>"}
    tmp/build-<dataset>-<random>/    a build in progress (never listed)
    tmp/baseline-<random>/           a baseline being captured
    locks/<dataset>.lock             held by the running build of that dataset
    baselines/<id>/baseline.json     a baseline (``snapshot.baselines``), published like a snapshot
    runs/<run-id>/run.json           a pipeline run (``pipeline.runner``)
    cache/<name>/                    derived data kept between builds (source profiles):
                                     JSON entries, each with ``"gate": true`` once the
                                     leak gate has checked it (``data gc`` prunes the rest)
    sandboxes/<project>/             sandbox state files (``sandbox.state``)

A build writes into a staging directory inside the store, fsyncs every file, then renames the
directory into ``snapshots/``: a rename is atomic, so a snapshot either exists complete or not
at all; baselines are published the same way (``LocalStore.publish_dir``). The store sits
behind ``Store`` so an object store (S3/GCS via pyarrow filesystems) can implement ``publish``
by uploading the staged files and writing the manifest last.
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sandboxer.errors import StoreError, did_you_mean
from sandboxer.snapshot.manifest import (
    ManifestError,
    SnapshotManifest,
    UnsupportedFormat,
    VersionedManifest,
)

MANIFEST = "manifest.json"
CACHE_UNUSED_DAYS = 30
"""``data gc`` removes cache entries that no build has read or written for this long."""


M = TypeVar("M", bound=VersionedManifest)


def read_manifest(cls: type[M], file: Path, what: str, *, hint: str | None = None) -> M:
    """The manifest ``file`` of a published directory (a snapshot, a baseline). A newer
    format raises ``UnsupportedFormat`` as is; a broken file is a ``StoreError`` naming
    ``what`` and the directory."""
    try:
        return cls.load(file)
    except UnsupportedFormat:
        raise
    except ManifestError as e:
        raise StoreError(
            f"{what} {file.parent.name} has an unreadable manifest: {e.reason}", hint=hint
        ) from e


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    dataset: str
    created_at: str
    path: Path
    manifest: SnapshotManifest


@dataclass(frozen=True)
class StoreLayout:
    """Where each kind of thing lives under a store root: the one place that names them."""

    root: Path

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def refs(self) -> Path:
        return self.root / "refs"

    @property
    def tmp(self) -> Path:
        """Staging directories of builds and baseline captures (``data gc`` cleans them)."""
        return self.root / "tmp"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def baselines(self) -> Path:
        return self.root / "baselines"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def sandboxes(self) -> Path:
        return self.root / "sandboxes"


class Store(abc.ABC):
    """Where snapshots are kept. Builds stage files locally, then ``publish``."""

    @abc.abstractmethod
    def lock(self, dataset: str) -> contextlib.AbstractContextManager[None]:
        """Exclusive right to build ``dataset``; fails at once if another build holds it."""

    @abc.abstractmethod
    def staging(self, dataset: str) -> contextlib.AbstractContextManager[Path]:
        """A fresh local directory for a build; removed on exit unless published."""

    @abc.abstractmethod
    def publish(self, staged: Path, snapshot_id: str, dataset: str) -> SnapshotInfo:
        """Make a staged snapshot visible atomically and point ``dataset``'s latest at it."""

    @abc.abstractmethod
    def list(self, dataset: str | None = None) -> list[SnapshotInfo]:
        """Published snapshots, newest first."""

    @abc.abstractmethod
    def resolve(self, ref: str, default_dataset: str | None = None) -> SnapshotInfo:
        """An id, unique id prefix, dataset name (its latest) or ``latest``."""

    @abc.abstractmethod
    def remove(self, snapshot_id: str) -> None: ...

    @abc.abstractmethod
    def gc(self) -> builtins.list[str]:
        """Remove leftovers of interrupted builds; return what was removed."""

    def disk_error(self, error: OSError, task: str) -> StoreError:
        """The error a user sees when writing to the store fails; ``task`` says what was being
        written: ``building `shop```, ``publishing a baseline``."""
        return StoreError(f"Cannot write to the store while {task}: {error.strerror}")

    def cache_dir(self, name: str) -> Path | None:
        """A local directory for derived data kept between builds (``profiles``), or None
        when the store keeps none."""
        return None


def lock_held(path: Path) -> bool:
    """Whether a live process holds the flock on ``path`` (a killed holder releases it)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename, fsynced: readers see the old or the new."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


class LocalStore(Store):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = StoreLayout(root)
        self.snapshots = self.layout.snapshots
        self.refs = self.layout.refs
        self.tmp = self.layout.tmp
        self.locks = self.layout.locks

    def _ensure(self) -> None:
        try:
            for d in (self.snapshots, self.refs, self.tmp, self.locks):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"Cannot create the snapshot store at {self.root}: {e.strerror}",
                hint="Check permissions, or set store.path in sandboxer.yaml.",
            ) from e

    @contextlib.contextmanager
    def lock(self, dataset: str) -> Iterator[None]:
        self._ensure()
        path = self.locks / f"{dataset}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise StoreError(
                    f"Another build of dataset `{dataset}` is running (pid {holder})",
                    hint="Wait for it to finish; a killed build releases the lock by itself.",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def cache_dir(self, name: str) -> Path | None:
        return self.layout.cache / name

    def _held(self, dataset: str) -> bool:
        return lock_held(self.locks / f"{dataset}.lock")

    def staging(self, dataset: str) -> contextlib.AbstractContextManager[Path]:
        return self.staged_dir(f"build-{dataset}")

    @contextlib.contextmanager
    def staged_dir(self, prefix: str) -> Iterator[Path]:
        """A fresh directory ``tmp/<prefix>-<random>/``, removed on exit unless published."""
        self._ensure()
        path = self.tmp / f"{prefix}-{secrets.token_hex(6)}"
        path.mkdir()
        try:
            yield path
        finally:
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)

    def publish(self, staged: Path, snapshot_id: str, dataset: str) -> SnapshotInfo:
        target = self.snapshots / snapshot_id
        try:
            self.publish_dir(staged, target)
            write_json_atomic(self.refs / f"{dataset}.json", {"latest": snapshot_id})
        except OSError as e:
            raise self.disk_error(e, f"building `{dataset}`") from e
        return self._info(target)

    def publish_dir(self, staged: Path, target: Path) -> None:
        """Make the staged directory ``target``: fsync every file and directory, then one
        atomic rename. ``target``'s name is a hash of its content, so a ``target`` that exists
        already holds the same: the staged copy is dropped. Raises ``OSError``."""
        for f in sorted(staged.rglob("*")):
            if f.is_file():
                fsync_path(f)
        for d in sorted({f.parent for f in staged.rglob("*")} | {staged}):
            fsync_path(d)
        if target.exists():
            shutil.rmtree(staged, ignore_errors=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staged, target)
        except OSError as e:
            # Published by a concurrent writer since the check above: the same content.
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not target.is_dir():
                raise
            shutil.rmtree(staged, ignore_errors=True)
            return
        fsync_path(target.parent)

    def disk_error(self, error: OSError, task: str) -> StoreError:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreError(
                f"No space left in the snapshot store {self.root} while {task}; "
                "nothing was published",
                hint="Free disk space (`sandboxer data rm` old snapshots, `sandboxer data gc`) "
                "or point store.path at a larger disk.",
            )
        return StoreError(f"Cannot write to the snapshot store {self.root}: {error.strerror}")

    def _info(self, path: Path) -> SnapshotInfo:
        manifest = read_manifest(
            SnapshotManifest,
            path / MANIFEST,
            "Snapshot",
            hint=f"Run `sandboxer data verify {path.name}`.",
        )
        return SnapshotInfo(
            id=path.name,
            dataset=manifest.dataset,
            created_at=manifest.created_at,
            path=path,
            manifest=manifest,
        )

    def list(self, dataset: str | None = None) -> list[SnapshotInfo]:
        if not self.snapshots.exists():
            return []
        infos = []
        for path in self.snapshots.iterdir():
            if not (path / MANIFEST).is_file():
                continue
            info = self._info(path)
            if dataset is None or info.dataset == dataset:
                infos.append(info)
        return sorted(infos, key=lambda i: (i.created_at, i.id), reverse=True)

    def latest(self, dataset: str) -> str | None:
        ref = self.refs / f"{dataset}.json"
        if not ref.exists():
            return None
        try:
            value = json.loads(ref.read_text(encoding="utf-8")).get("latest")
        except ValueError:
            return None
        return value if value and (self.snapshots / value / MANIFEST).is_file() else None

    def resolve(self, ref: str, default_dataset: str | None = None) -> SnapshotInfo:
        if ref == "latest":
            if default_dataset is None:
                datasets = sorted({i.dataset for i in self.list()})
                if len(datasets) != 1:
                    raise StoreError(
                        "`latest` is ambiguous: the store holds several datasets"
                        if datasets
                        else "The snapshot store is empty",
                        hint="Name the dataset, e.g. `sandboxer data show shop`."
                        if datasets
                        else "Build one with `sandboxer data build`.",
                    )
                default_dataset = datasets[0]
            ref = default_dataset
        latest = self.latest(ref) if (self.refs / f"{ref}.json").exists() else None
        if latest:
            return self._info(self.snapshots / latest)
        if (self.snapshots / ref / MANIFEST).is_file():
            return self._info(self.snapshots / ref)
        ids = [p.name for p in self.snapshots.iterdir()] if self.snapshots.exists() else []
        matches = [
            i for i in ids if i.startswith(ref) and (self.snapshots / i / MANIFEST).is_file()
        ]
        if len(matches) == 1 and len(ref) >= 4:
            return self._info(self.snapshots / matches[0])
        if len(matches) > 1:
            raise StoreError(f"Snapshot prefix `{ref}` is ambiguous: {', '.join(sorted(matches))}")
        names = ids + [p.stem for p in self.refs.glob("*.json")] if self.refs.exists() else ids
        raise StoreError(
            f"No snapshot or dataset `{ref}` in {self.root}",
            hint=did_you_mean(ref, names) or "List them with `sandboxer data list`.",
        )

    def remove(self, snapshot_id: str) -> None:
        target = self.snapshots / snapshot_id
        if not (target / MANIFEST).is_file():
            raise StoreError(f"No snapshot `{snapshot_id}` in {self.root}")
        # Unpublish first (rename away), then delete: never a half-deleted listed snapshot.
        trash = self.tmp / f"rm-{snapshot_id}-{secrets.token_hex(4)}"
        self._ensure()
        os.rename(target, trash)
        for ref in self.refs.glob("*.json"):
            try:
                if json.loads(ref.read_text(encoding="utf-8")).get("latest") == snapshot_id:
                    dataset = ref.stem
                    remaining = self.list(dataset)
                    if remaining:
                        write_json_atomic(ref, {"latest": remaining[0].id})
                    else:
                        ref.unlink()
            except ValueError:
                continue
        shutil.rmtree(trash, ignore_errors=True)

    def gc(self) -> builtins.list[str]:
        removed: builtins.list[str] = []
        if self.tmp.exists():
            for entry in sorted(self.tmp.iterdir()):
                if entry.name.startswith("build-"):
                    dataset = entry.name[len("build-") :].rsplit("-", 1)[0]
                    if self._held(dataset):
                        continue  # a live build owns it
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
                removed.append(str(entry.relative_to(self.root)))
        if self.snapshots.exists():
            for entry in sorted(self.snapshots.iterdir()):
                if not (entry / MANIFEST).is_file():
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(str(entry.relative_to(self.root)))
        if self.refs.exists():
            for ref in sorted(self.refs.glob("*.json")):
                if self.latest(ref.stem) is None:
                    ref.unlink()
                    removed.append(str(ref.relative_to(self.root)))
        removed += self._gc_cache()
        return removed

    def _gc_cache(self) -> builtins.list[str]:
        """Cache entries that are half-written (a killed build; a live one renames its own at
        once), unused for ``CACHE_UNUSED_DAYS``, or not checked by the leak gate (written by
        an older sandboxer, or by a build without redaction: they may hold production
        values)."""
        removed: builtins.list[str] = []
        now = time.time()
        for entry in sorted(self.layout.cache.glob("*/*")):
            if not entry.is_file():
                continue
            try:
                age = now - entry.stat().st_mtime
            except FileNotFoundError:
                continue
            if entry.name.startswith("."):
                stale = entry.name.endswith(".tmp") and age > 3600
            else:
                stale = age > CACHE_UNUSED_DAYS * 86_400 or not _gate_checked(entry)
            if stale:
                entry.unlink(missing_ok=True)
                removed.append(str(entry.relative_to(self.root)))
        return removed


def _gate_checked(path: Path) -> bool:
    """Whether a cache entry records that the leak gate checked it."""
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(entry, dict) and entry.get("gate") is True
