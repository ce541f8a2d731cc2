"""``DockerBackend``: the backend's calls, from ``create`` (whose steps are in ``create``)
to ``gc``, over the sandbox's state file and its labelled resources."""

from __future__ import annotations

import builtins
import datetime as dt
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError, did_you_mean
from sandboxer.sandbox.base import SandboxBackend, SandboxInfo, SandboxSpec
from sandboxer.sandbox.docker.create import create_sandbox
from sandboxer.sandbox.docker.data import connections, empty_database, load_snapshot
from sandboxer.sandbox.docker.resources import (
    L_CREATED,
    L_ROLE,
    L_TEMPLATE,
    Created,
    Group,
    find_groups,
    labelled,
    remove,
    resource_name,
    resources_exist,
    secret_file,
)
from sandboxer.sandbox.docker.services import wait_healthy
from sandboxer.sandbox.docker.workspace import (
    create_workspace,
    exec_stream,
    hook,
    prepare_workspace,
    run,
    tail,
)
from sandboxer.sandbox.engines import get_engine
from sandboxer.sandbox.state import (
    PROCESS_MARKER,
    StateStore,
    strip_format,
    validate_name,
)

if TYPE_CHECKING:
    from sandboxer.sandbox.templates import Template
    from sandboxer.snapshot.store import SnapshotInfo


class DockerBackend(SandboxBackend):
    """Sandboxes as hardened containers on an internal network (the default backend).

    Options: ``store_root`` (the snapshot store root; state files live under it),
    ``ca_bundle`` (extra CA bundle for image builds, over the template's and
    ``$SANDBOXER_CA_BUNDLE``),
    ``health_timeout`` (seconds to wait for services, default 90), ``client`` (a docker client).
    """

    name = "docker"
    isolated = True

    def __init__(self, console: Any = None, **options: Any) -> None:
        super().__init__(console, **options)
        self.states = StateStore(Path(options.get("store_root", ".sandboxer")))
        self.health_timeout = float(options.get("health_timeout", 90))
        self._client = options.get("client")

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker
            from docker.errors import DockerException

            try:
                self._client = docker.from_env()
                self._client.ping()
            except DockerException as e:
                raise SandboxerError(
                    f"No Docker engine reachable ({type(e).__name__})",
                    hint="Start Docker, or use `--backend process` (not isolated).",
                ) from e
        return self._client

    # -- create ---------------------------------------------------------------------------

    def create(self, spec: SandboxSpec) -> SandboxInfo:
        name = validate_name(spec.name)
        project = spec.project
        started = time.perf_counter()
        with self.states.create_lock(project, name):
            self._check_collision(spec)
            created = Created()
            try:
                info = self._info(create_sandbox(self, spec, created, started), "ready")
            except BaseException:
                # Ctrl-C or any failure: remove what this attempt made (kill -9 cannot get
                # here; then the resources carry labels and no state file, and `gc` takes them).
                self.console.warn(f"Create of `{name}` failed; removing its resources")
                remove(self.console, created.containers, created.networks, created.volumes)
                self.states.delete(project, name)
                raise
        return info

    def _check_collision(self, spec: SandboxSpec) -> None:
        state = self.states.read(spec.project, spec.name)
        existing = labelled(self.client, spec.project, spec.name)
        if state is None and not any(existing.values()):
            return
        if spec.replace:
            self.console.step(f"Replacing sandbox `{spec.name}`")
            self._destroy(spec.project, spec.name, existing)
            return
        what = "exists" if state else "has leftovers of an interrupted create"
        raise SandboxerError(
            f"Sandbox `{spec.name}` already {what}",
            hint=f"Pick another name, replace it with `sandboxer create {spec.name} --replace`, "
            f"or remove it with `sandboxer destroy {spec.name}`.",
        )

    def _load(
        self,
        t: Template,
        workspace: Any,
        services: dict[str, Any],
        sandbox_dir: Path,
        snapshot: SnapshotInfo,
        *,
        db_path: str | None = None,
    ) -> dict[str, Any]:
        return load_snapshot(
            self.client,
            self.console,
            t,
            workspace,
            services,
            sandbox_dir,
            snapshot,
            db_path=db_path,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def list(self, project: str | None = None) -> list[SandboxInfo]:
        states = {
            (s["project"], s["name"]): s
            for s in self.states.list(project)
            if s.get("backend") == self.name
        }
        groups = find_groups(self.client, project)
        infos = []
        for key in sorted(set(states) | set(groups)):
            infos.append(self._merge(key, states.get(key), groups.get(key, Group())))
        return infos

    def status(self, name: str, project: str) -> SandboxInfo:
        state = self._state(name, project, required=False)
        group = find_groups(self.client, project, name).get((project, name), Group())
        if state is None and group.empty:
            raise self._not_found(name, project)
        return self._merge((project, name), state, group)

    def exec(
        self, name: str, project: str, command: Sequence[str], *, interactive: bool = False
    ) -> int:
        _, workspace = self._workspace(name, project, running=True)
        if interactive:
            # A real TTY needs the CLI: the SDK's attach sockets do not handle raw mode.
            argv = ["docker", "exec", "-it", workspace.id, *command]
            return subprocess.call(argv)
        out, err = sys.stdout.buffer, sys.stderr.buffer

        def passthrough(stream: int, data: bytes) -> None:
            # The user's own command output, as `docker exec` shows it.
            target = out if stream == 1 else err
            target.write(data)
            target.flush()

        return exec_stream(self.client, workspace.id, command, passthrough)

    def logs(self, name: str, project: str, *, follow: bool = False) -> None:
        self._state(name, project)
        group = find_groups(self.client, project, name).get((project, name), Group())
        containers = sorted(group.containers, key=lambda c: c.labels.get(L_ROLE) != "workspace")
        out = sys.stdout.buffer
        if follow:
            # Only the workspace can be followed in one stream; services via `docker logs`.
            ws = [c for c in containers if c.labels.get(L_ROLE) == "workspace"][:1]
            for chunk in ws[0].logs(stream=True, follow=True) if ws else []:
                out.write(chunk)
                out.flush()
            return
        for c in containers:
            self.console.info(f"== {c.labels.get(L_ROLE)} ({c.name})")
            out.write(c.logs(tail=200))
            out.flush()

    def stop(self, name: str, project: str) -> None:
        self._state(name, project)
        group = find_groups(self.client, project, name).get((project, name), Group())
        for c in sorted(group.containers, key=lambda c: c.labels.get(L_ROLE) != "workspace"):
            if c.status == "running":
                c.stop(timeout=10)

    def start(self, name: str, project: str) -> SandboxInfo:
        from sandboxer.sandbox.templates import Template

        state = self._state(name, project)
        t = Template.model_validate(state["template_spec"])
        services = {
            s: self.client.containers.get(cid) for s, cid in state["resources"]["services"].items()
        }
        for sname, c in services.items():
            if c.status != "running":
                c.start()
            wait_healthy(name, sname, c, self.health_timeout)
        workspace = self.client.containers.get(state["resources"]["workspace"])
        if workspace.status != "running":
            workspace.start()
        sandbox_dir = Path(state["resources"]["dir"])
        secret_files = {s: secret_file(sandbox_dir, s) for s in services}
        prepare_workspace(self.console, t, workspace, secret_files)
        for line in t.hooks.post_start:
            hook(self.client, self.console, workspace, t, "post_start", line)
        # Published ports are chosen again by the engine at every start.
        state["connections"] = connections(t, services, sandbox_dir)
        self.states.write(project, name, strip_format(state))
        return self._info(state, "ready")

    def reset(self, name: str, project: str, snapshot: SnapshotInfo) -> SandboxInfo:
        from sandboxer.sandbox.templates import Template

        state = self._state(name, project)
        t = Template.model_validate(state["template_spec"])
        sandbox_dir = Path(state["resources"]["dir"])
        services = {
            s: self.client.containers.get(cid) for s, cid in state["resources"]["services"].items()
        }
        _, workspace = self._workspace(name, project, running=True)
        if snapshot.id != state["snapshot_id"]:
            workspace = self._recreate_workspace(state, t, workspace, snapshot, services)
        engine = get_engine(t.data.engine)
        self.console.step(f"Reloading snapshot {snapshot.id} into {engine.name}")
        if engine.embedded:
            # Load into a new file, then swap: the old data stays usable until the new is ok.
            fresh = f"{t.data.path}.reset"
            user = t.workspace.user
            run(
                self.client, self.console, workspace, ["rm", "-f", fresh, f"{fresh}.wal"], user=user
            )
            report = self._load(t, workspace, services, sandbox_dir, snapshot, db_path=fresh)
            code, _, err = run(
                self.client,
                self.console,
                workspace,
                ["sh", "-c", 'rm -f "$2.wal" && mv -f "$1" "$2"', "swap", fresh, t.data.path],
                user=user,
            )
            if code != 0:
                raise SandboxerError(
                    f"Could not swap the reloaded {engine.label} file: {tail(err)}"
                )
        else:
            empty_database(t, services[t.data.service], sandbox_dir)
            report = self._load(t, workspace, services, sandbox_dir, snapshot)
        state.update(
            snapshot_id=snapshot.id,
            dataset=snapshot.dataset,
            load=report,
            connections=connections(t, services, sandbox_dir),
        )
        self.states.write(project, name, strip_format(state))
        return self._info(state, "ready")

    def _recreate_workspace(
        self,
        state: dict[str, Any],
        t: Template,
        old: Any,
        snapshot: SnapshotInfo,
        services: dict[str, Any],
    ) -> Any:
        """A different snapshot needs a different read-only mount: a new workspace container
        with the same volume, networks and settings."""
        project, name = state["project"], state["name"]
        labels = {k: v for k, v in old.labels.items() if k != L_ROLE}
        nets = list(old.attrs["NetworkSettings"]["Networks"])
        by_name = {n: self.client.networks.get(n) for n in nets}
        net = by_name.get(f"{resource_name(project, name)}-net")
        publish = by_name.get(f"{resource_name(project, name)}-pub", net)
        volume = self.client.volumes.get(f"{resource_name(project, name)}-data")
        sandbox_dir = Path(state["resources"]["dir"])
        secret_files = {s: secret_file(sandbox_dir, s) for s in services}
        spec = SandboxSpec(
            name=name,
            project=project,
            project_dir=Path(state["project_dir"]),
            template=t,
            snapshot=snapshot,
        )
        old.remove(force=True)
        new = create_workspace(
            self.client,
            spec,
            old.image.tags[0] if old.image.tags else old.image.id,
            labels,
            resource_name(project, name),
            net,
            publish,
            volume,
            secret_files,
            snapshot,
        )
        new.start()
        prepare_workspace(self.console, t, new, secret_files)
        state["resources"]["workspace"] = new.id
        return new

    def destroy(self, name: str, project: str) -> None:
        state = self._state(name, project, required=False)
        group = labelled(self.client, project, name)
        if state is None and not any(group.values()):
            raise self._not_found(name, project)
        self._destroy(project, name, group)

    def _destroy(self, project: str, name: str, group: dict[str, Any]) -> None:
        # State file first: from here on the sandbox is never listed as ready.
        self.states.path(project, name).unlink(missing_ok=True)
        remove(self.console, group["containers"], group["networks"], group["volumes"])
        self.states.delete(project, name)

    def gc(self, *, ttl_seconds: int | None = None) -> builtins.list[str]:
        removed: builtins.list[str] = []
        now = dt.datetime.now(dt.UTC)
        groups = find_groups(self.client, None)
        states = {
            (s["project"], s["name"]): s
            for s in self.states.list()
            if s.get("backend") == self.name
        }
        for key in sorted(set(groups) | set(states)):
            project, name = key
            group = groups.get(key, Group())
            state = states.get(key)
            reason = None
            if state is None:
                if self.states.create_running(project, name):
                    continue  # a live create owns these resources
                reason = "partial (interrupted create)"
            elif group.empty or not resources_exist(state, group):
                reason = "its resources are gone"
            else:
                ttl = ttl_seconds or state.get("ttl_seconds")
                created = state.get("created_at")
                if ttl and created:
                    age = (now - dt.datetime.fromisoformat(created)).total_seconds()
                    if age > ttl:
                        reason = f"older than its TTL ({int(ttl)} s)"
            if reason is None:
                continue
            self.console.step(f"Removing sandbox `{name}` of project {project}: {reason}")
            self.states.path(project, name).unlink(missing_ok=True)
            remove(self.console, group.containers, group.networks, group.volumes)
            self.states.delete(project, name)
            removed.append(f"{project}/{name}")
        # A create killed before its first labelled resource leaves only its directory.
        for project, name, path in self.states.orphan_dirs():
            if (
                (path / PROCESS_MARKER).exists()
                or (project, name) in groups
                or self.states.create_running(project, name)
            ):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(f"{project}/{name}")
        return removed

    # -- helpers ---------------------------------------------------------------------------

    def _merge(
        self, key: tuple[str, str], state: dict[str, Any] | None, group: Group
    ) -> SandboxInfo:
        project, name = key
        if state is None:
            status = "creating" if self.states.create_running(project, name) else "partial"
            labels: dict[str, str] = next((c.labels for c in group.containers), {})
            return SandboxInfo(
                name=name,
                backend=self.name,
                state=status,
                template=labels.get(L_TEMPLATE),
                created_at=labels.get(L_CREATED),
                resources={
                    "project": project,
                    "containers": [c.name for c in group.containers],
                    "networks": [n.name for n in group.networks],
                    "volumes": [v.name for v in group.volumes],
                },
            )
        if group.empty or not resources_exist(state, group):
            status = "failed"
        else:
            ws = next(c for c in group.containers if c.id == state["resources"]["workspace"])
            status = "ready" if ws.status == "running" else "stopped"
        return self._info(state, status)

    def _info(self, state: dict[str, Any], status: str) -> SandboxInfo:
        return SandboxInfo.from_state(state, backend=self.name, status=status, isolated=True)

    def _state(self, name: str, project: str, *, required: bool = True) -> dict[str, Any]:
        validate_name(name)
        state = self.states.read(project, name)
        if state is not None and state.get("backend") != self.name:
            raise SandboxerError(
                f"Sandbox `{name}` belongs to the {state.get('backend')} backend",
                hint=f"Use `--backend {state.get('backend')}`.",
            )
        if state is None and required:
            raise self._not_found(name, project)
        return state  # type: ignore[return-value]

    def _workspace(self, name: str, project: str, *, running: bool) -> tuple[dict[str, Any], Any]:
        from docker.errors import NotFound

        state = self._state(name, project)
        try:
            ws = self.client.containers.get(state["resources"]["workspace"])
        except NotFound:
            raise SandboxerError(
                f"The workspace container of sandbox `{name}` is gone",
                hint=f"Run `sandboxer gc`, then `sandboxer create {name}`.",
            ) from None
        if running and ws.status != "running":
            raise SandboxerError(
                f"Sandbox `{name}` is stopped", hint=f"Start it with `sandboxer start {name}`."
            )
        return state, ws

    def _not_found(self, name: str, project: str) -> SandboxerError:
        names = [s["name"] for s in self.states.list(project) if s.get("backend") == self.name]
        return SandboxerError(
            f"No sandbox `{name}` in this project",
            hint=did_you_mean(name, names) or "List them with `sandboxer list`.",
        )
