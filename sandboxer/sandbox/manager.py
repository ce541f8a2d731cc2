"""Sandbox operations: resolve template, snapshot and backend, then call the backend.

``Sandboxes`` takes what it uses (the store, the project directory, the console, the sandbox
defaults and a snapshot resolver), so it is driven the same way from ``Context``, tests and
Python; the CLI is a thin layer over it."""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sandboxer.config.models import SandboxDefaults, parse_duration
from sandboxer.errors import SandboxerError
from sandboxer.sandbox import create_backend
from sandboxer.sandbox.base import SandboxBackend, SandboxInfo, SandboxSpec

if TYPE_CHECKING:
    from sandboxer.console import Console
    from sandboxer.snapshot.store import LocalStore, SnapshotInfo


class Sandboxes:
    def __init__(
        self,
        *,
        project_dir: Path,
        store: LocalStore,
        console: Console,
        defaults: Callable[[], SandboxDefaults],
        snapshots: Callable[[str], SnapshotInfo],
    ) -> None:
        """``defaults`` gives the project's ``sandbox:`` section (read lazily: listing or
        destroying sandboxes works without a valid config); ``snapshots`` resolves a snapshot
        id, dataset name or ``latest`` (building the dataset's first snapshot if needed)."""
        self.project_dir = project_dir
        self.store = store
        self.console = console
        self._defaults = defaults
        self._snapshots = snapshots

    # -- resolution ----------------------------------------------------------------------
    @property
    def project(self) -> str:
        from sandboxer.sandbox.state import project_id

        return project_id(self.project_dir)

    def backend(self, name: str | None = None) -> SandboxBackend:
        """The named backend; ``auto`` picks Docker when an engine answers, else ``process``
        (and says that it is not isolated)."""
        choice = name or os.environ.get("SANDBOXER_BACKEND") or self._defaults().backend
        if choice == "auto":
            choice = "docker" if docker_reachable() else "process"
            if choice == "process":
                self.console.warn(
                    "no Docker engine reachable: using the process backend, which is NOT "
                    "isolated (a directory with its own venv and the DuckDB data)"
                )
        return create_backend(choice, console=self.console, store_root=str(self.store.root))

    def _backend_of(self, name: str) -> SandboxBackend:
        from sandboxer.sandbox.state import StateStore

        state = StateStore(self.store.root).read(self.project, name)
        if state is not None and state.get("backend"):
            return self.backend(str(state["backend"]))
        return self.backend()

    def snapshot(self, ref: str | None) -> SnapshotInfo:
        """A snapshot id, a dataset name (its latest, built first if it has none) or
        ``latest`` (the default: the template defaults' dataset)."""
        return self._snapshots(ref or self._defaults().dataset or "latest")

    # -- operations ----------------------------------------------------------------------
    def create(
        self,
        name: str,
        *,
        template: str | None = None,
        dataset: str | None = None,
        backend: str | None = None,
        replace: bool = False,
        ttl: str | None = None,
    ) -> SandboxInfo:
        from sandboxer.sandbox.templates import load_template

        defaults = self._defaults()
        tmpl = load_template(template or defaults.template, self.project_dir)
        snap = self.snapshot(dataset)
        ttl_text = ttl or defaults.ttl
        try:
            ttl_seconds = parse_duration(ttl_text) if ttl_text else None
        except ValueError as e:
            raise SandboxerError(str(e)) from None
        spec = SandboxSpec(
            name=name,
            project=self.project,
            project_dir=self.project_dir,
            template=tmpl,
            snapshot=snap,
            ttl_seconds=ttl_seconds,
            replace=replace,
        )
        return self.backend(backend).create(spec)

    def list(self) -> list[SandboxInfo]:
        infos: dict[str, SandboxInfo] = {}
        backends = ["process"] + (["docker"] if docker_reachable() else [])
        for b in backends:
            for info in create_backend(
                b, console=self.console, store_root=str(self.store.root)
            ).list(self.project):
                infos.setdefault(info.name, info)
        return sorted((self._key_check(i) for i in infos.values()), key=lambda i: i.name)

    def status(self, name: str) -> SandboxInfo:
        return self._key_check(self._backend_of(name).status(name, self.project))

    def _key_check(self, info: SandboxInfo) -> SandboxInfo:
        """``info`` with the key fingerprint of its snapshot, and a notice when the dataset's
        latest snapshot was redacted with another key (the sandbox holds older pseudonyms)."""
        import dataclasses

        from sandboxer.redact.secret_key import snapshot_fingerprint

        loaded = self._stored_snapshot(info.snapshot_id)
        if loaded is None:
            return info
        fp = snapshot_fingerprint(loaded.manifest)
        notice = None
        latest_id = self.store.latest(loaded.dataset)
        latest = self._stored_snapshot(latest_id) if latest_id != loaded.id else None
        latest_fp = snapshot_fingerprint(latest.manifest) if latest else None
        if latest is not None and fp and latest_fp and latest_fp != fp:
            notice = (
                f"loaded from snapshot {loaded.id}, redacted with key {fp}; the latest snapshot "
                f"of `{loaded.dataset}` ({latest.id}) uses key {latest_fp}, so its pseudonyms "
                f"differ. Recreate it: sandboxer create {info.name} --dataset "
                f"{loaded.dataset} --replace"
            )
        return dataclasses.replace(info, key_fingerprint=fp, key_notice=notice)

    def _stored_snapshot(self, snapshot_id: str | None) -> SnapshotInfo | None:
        """The snapshot if the store still has it (``gc`` may have removed it)."""
        if not snapshot_id:
            return None
        try:
            return self.store.resolve(snapshot_id)
        except SandboxerError:
            return None

    def exec(self, name: str, command: Sequence[str], *, interactive: bool = False) -> int:
        return self._backend_of(name).exec(name, self.project, command, interactive=interactive)

    def logs(self, name: str, *, follow: bool = False) -> None:
        self._backend_of(name).logs(name, self.project, follow=follow)

    def stop(self, name: str) -> None:
        self._backend_of(name).stop(name, self.project)

    def start(self, name: str) -> SandboxInfo:
        return self._backend_of(name).start(name, self.project)

    def reset(self, name: str, dataset: str | None = None) -> SandboxInfo:
        backend = self._backend_of(name)
        if dataset is None:
            from sandboxer.sandbox.state import StateStore

            state = StateStore(self.store.root).read(self.project, name) or {}
            dataset = state.get("snapshot_id") or state.get("dataset")
        return backend.reset(name, self.project, self.snapshot(dataset))

    def destroy(self, name: str) -> None:
        self._backend_of(name).destroy(name, self.project)

    def gc(self, ttl: str | None = None) -> builtins.list[str]:
        ttl_seconds = parse_duration(ttl) if ttl else None
        removed: builtins.list[str] = []
        backends = ["process"] + (["docker"] if docker_reachable() else [])
        for b in backends:
            removed += create_backend(b, console=self.console, store_root=str(self.store.root)).gc(
                ttl_seconds=ttl_seconds
            )
        return removed


def docker_reachable() -> bool:
    """Whether a Docker engine answers (quickly; no engine is a normal situation)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
        return True
    except Exception:  # any failure means "no usable engine" here
        return False
