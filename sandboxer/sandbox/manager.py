"""Sandbox operations of the core: resolve template, snapshot and backend, then call the
backend. ``Context`` exposes these; the CLI is a thin layer over them."""

from __future__ import annotations

import builtins
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandboxer.config.models import parse_duration
from sandboxer.errors import SandboxerError, StoreError
from sandboxer.sandbox import create_backend
from sandboxer.sandbox.base import SandboxBackend, SandboxInfo, SandboxSpec

if TYPE_CHECKING:
    from sandboxer.context import Context
    from sandboxer.snapshot.store import SnapshotInfo


class Sandboxes:
    def __init__(self, context: Context) -> None:
        self.context = context

    # -- resolution ----------------------------------------------------------------------
    @property
    def project(self) -> str:
        from sandboxer.sandbox.state import project_id

        return project_id(self.context.project_dir)

    def backend(self, name: str | None = None) -> SandboxBackend:
        """The named backend; ``auto`` picks Docker when an engine answers, else ``process``
        (and says that it is not isolated)."""
        choice = name or os.environ.get("SANDBOXER_BACKEND") or self._defaults().backend
        if choice == "auto":
            choice = "docker" if docker_reachable() else "process"
            if choice == "process":
                self.context.console.warn(
                    "no Docker engine reachable: using the process backend, which is NOT "
                    "isolated (a directory with its own venv and the DuckDB data)"
                )
        return create_backend(
            choice, console=self.context.console, store_root=str(self.context.store.root)
        )

    def _defaults(self) -> Any:
        from sandboxer.config.models import SandboxDefaults

        if self.context.config_path.exists():
            return self.context.project.sandbox
        return SandboxDefaults()

    def _backend_of(self, name: str) -> SandboxBackend:
        from sandboxer.sandbox.state import StateStore

        state = StateStore(self.context.store.root).read(self.project, name)
        if state is not None and state.get("backend"):
            return self.backend(str(state["backend"]))
        return self.backend()

    def snapshot(self, ref: str | None) -> SnapshotInfo:
        """A snapshot id, a dataset name (its latest, built first if it has none) or
        ``latest``."""
        defaults = self._defaults()
        ref = ref or defaults.dataset or "latest"
        try:
            return self.context.resolve_snapshot(ref)
        except StoreError:
            datasets = self.context.project.datasets if self.context.config_path.exists() else {}
            name = (
                ref
                if ref in datasets
                else (next(iter(datasets)) if ref == "latest" and len(datasets) == 1 else None)
            )
            if name is None:
                raise
            self.context.console.step(f"No snapshot of `{name}` yet: building one")
            return self.context.build(name)

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
        tmpl = load_template(template or defaults.template, self.context.project_dir)
        snap = self.snapshot(dataset)
        ttl_text = ttl or defaults.ttl
        try:
            ttl_seconds = parse_duration(ttl_text) if ttl_text else None
        except ValueError as e:
            raise SandboxerError(str(e)) from None
        spec = SandboxSpec(
            name=name,
            project=self.project,
            project_dir=self.context.project_dir,
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
                b, console=self.context.console, store_root=str(self.context.store.root)
            ).list(self.project):
                infos.setdefault(info.name, info)
        return sorted(infos.values(), key=lambda i: i.name)

    def status(self, name: str) -> SandboxInfo:
        return self._backend_of(name).status(name, self.project)

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

            state = StateStore(self.context.store.root).read(self.project, name) or {}
            dataset = state.get("snapshot_id") or state.get("dataset")
        return backend.reset(name, self.project, self.snapshot(dataset))

    def destroy(self, name: str) -> None:
        self._backend_of(name).destroy(name, self.project)

    def gc(self, ttl: str | None = None) -> builtins.list[str]:
        ttl_seconds = parse_duration(ttl) if ttl else None
        removed: builtins.list[str] = []
        backends = ["process"] + (["docker"] if docker_reachable() else [])
        for b in backends:
            removed += create_backend(
                b, console=self.context.console, store_root=str(self.context.store.root)
            ).gc(ttl_seconds=ttl_seconds)
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
