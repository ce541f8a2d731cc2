"""The Docker backend: one network, one data volume, service containers and a workspace.

    create: images -> networks -> volumes -> services (healthy) -> workspace -> load -> verify
            -> hooks -> state file (last, atomic: the sandbox is ready only once it exists)

Every container runs hardened (non-root, ``cap_drop=ALL`` plus a service's own ``cap_add``,
no-new-privileges, read-only root where the template allows, memory/CPU/pids limits, never the
Docker socket or host namespaces). The sandbox network is ``internal`` (no egress) unless the
template opts in. Docker does not publish ports of containers on internal networks, so a
container with published ports (a PostgreSQL service, the workspace's ``ports``) also joins a
second bridge network with IP masquerading off: 127.0.0.1 port publishing works, but packets to
the outside world leave without NAT and never come back.

Secrets (the PostgreSQL password) are files under the sandbox's state directory (mode 0700),
bind-mounted read-only into the containers that need them. Bind mounts keep host ownership and
the containers run as other non-root users, so the file is 0440 and group-owned by a dedicated
group that only these containers join (``group_add``: Kubernetes' ``fsGroup`` pattern).
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer import __version__
from sandboxer.errors import SandboxerError, did_you_mean
from sandboxer.sandbox.base import (
    LABEL_PREFIX,
    SandboxBackend,
    SandboxInfo,
    SandboxSpec,
)
from sandboxer.sandbox.state import (
    PROCESS_MARKER,
    StateStore,
    check_report,
    report_dict,
    strip_format,
    validate_name,
)

if TYPE_CHECKING:
    from sandboxer.sandbox.templates import Template
    from sandboxer.snapshot.store import SnapshotInfo

L_SANDBOX = f"{LABEL_PREFIX}.sandbox"
L_PROJECT = f"{LABEL_PREFIX}.project"
L_TEMPLATE = f"{LABEL_PREFIX}.template"
L_CREATED = f"{LABEL_PREFIX}.created"
L_VERSION = f"{LABEL_PREFIX}.version"
L_ROLE = f"{LABEL_PREFIX}.role"
L_TTL = f"{LABEL_PREFIX}.ttl"

SECRETS_GID = 61_000
"""Group that owns secret files when sandboxer runs as root; only sandbox containers join it."""
SECRET_MOUNT = "/run/secrets"
SNAPSHOT_MOUNT = "/snapshot"
DATA_MOUNT = "/data"
PG_HOME = "/var/lib/postgresql"
PG_PORT = 5432
TMPFS_OPTIONS = "rw,nosuid,nodev,mode=1777"

PG_HEALTH = ["CMD", "pg_isready", "-q"]


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

    # -- engine ---------------------------------------------------------------------------

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

    def _labelled(self, project: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Sandboxer's resources, optionally of one project/sandbox: never anything else."""
        filters = [L_SANDBOX]
        if project:
            filters.append(f"{L_PROJECT}={project}")
        if name:
            filters.append(f"{L_SANDBOX}={name}")
        f = {"label": filters}
        return {
            "containers": self.client.containers.list(all=True, filters=f),
            "networks": self.client.networks.list(filters=f),
            "volumes": self.client.volumes.list(filters=f),
        }

    # -- create ---------------------------------------------------------------------------

    def create(self, spec: SandboxSpec) -> SandboxInfo:
        name = validate_name(spec.name)
        project = spec.project
        started = time.perf_counter()
        with self.states.create_lock(project, name):
            self._check_collision(spec)
            created = _Created()
            try:
                info = self._create(spec, created, started)
            except BaseException:
                # Ctrl-C or any failure: remove what this attempt made (kill -9 cannot get
                # here; then the resources carry labels and no state file, and `gc` takes them).
                self.console.warn(f"Create of `{name}` failed; removing its resources")
                self._remove(created.containers, created.networks, created.volumes)
                self.states.delete(project, name)
                raise
        return info

    def _check_collision(self, spec: SandboxSpec) -> None:
        state = self.states.read(spec.project, spec.name)
        existing = self._labelled(spec.project, spec.name)
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

    def _create(self, spec: SandboxSpec, created: _Created, started: float) -> SandboxInfo:
        from sandboxer.sandbox.image import build_image

        t = spec.template
        name, project = spec.name, spec.project
        created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        labels = {
            L_SANDBOX: name,
            L_PROJECT: project,
            L_TEMPLATE: t.name,
            L_CREATED: created_at,
            L_VERSION: __version__,
        }
        if spec.ttl_seconds:
            labels[L_TTL] = str(int(spec.ttl_seconds))
        base = _resource_name(project, name)
        timings: dict[str, float] = {}
        mark = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            timings[step] = round(now - mark, 3)
            mark = now

        self.console.step(f"Images for template `{t.name}`")
        ca_bundle = self._ca_bundle()
        images = {
            "workspace": build_image(self.client, t, "workspace", self.console, ca_bundle=ca_bundle)
        }
        for role in t.services:
            images[role] = build_image(self.client, t, role, self.console, ca_bundle=ca_bundle)
        lap("images")

        self.console.step("Network and volumes")
        sandbox_dir = self.states.sandbox_dir(project, name)
        sandbox_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(sandbox_dir, 0o700)
        net = self.client.networks.create(
            f"{base}-net",
            driver="bridge",
            internal=not t.network.egress,
            labels={**labels, L_ROLE: "network"},
        )
        created.networks.append(net)
        publish_net = net
        needs_publish = bool(t.ports) or any(_is_postgres(s) for s in t.services.values())
        if needs_publish and not t.network.egress:
            publish_net = self.client.networks.create(
                f"{base}-pub",
                driver="bridge",
                internal=False,
                options={
                    "com.docker.network.bridge.enable_ip_masquerade": "false",
                    "com.docker.network.bridge.enable_icc": "false",
                },
                labels={**labels, L_ROLE: "network"},
            )
            created.networks.append(publish_net)
        volume = self.client.volumes.create(f"{base}-data", labels={**labels, L_ROLE: "data"})
        created.volumes.append(volume)
        lap("network")

        secret_files: dict[str, Path] = {}
        services: dict[str, Any] = {}
        for sname, service in t.services.items():
            self.console.step(f"Service `{sname}`")
            container, secret = self._create_service(
                spec,
                sname,
                service,
                images[sname],
                labels,
                base,
                net,
                publish_net,
                created,
                sandbox_dir,
            )
            services[sname] = container
            if secret is not None:
                secret_files[sname] = secret
        for sname, container in services.items():
            self._wait_healthy(name, sname, container, t.services[sname])
        lap("services")

        self.console.step("Workspace")
        workspace = self._create_workspace(
            spec,
            images["workspace"],
            labels,
            base,
            net,
            publish_net,
            volume,
            secret_files,
            spec.snapshot,
        )
        created.containers.append(workspace)
        workspace.start()
        lap("workspace")

        self.console.step(f"Loading snapshot {spec.snapshot.id} into {t.data.engine}")
        report = self._load(t, workspace, services, sandbox_dir, spec.snapshot)
        lap("load")

        self._prepare_workspace(t, workspace, secret_files)
        for line in t.hooks.on_create:
            self._hook(workspace, t, "on_create", line)
        for line in t.hooks.post_start:
            self._hook(workspace, t, "post_start", line)
        lap("hooks")

        timings["total"] = round(time.perf_counter() - started, 3)
        state = {
            "backend": self.name,
            "name": name,
            "project": project,
            "project_dir": str(spec.project_dir.resolve()),
            "template": t.name,
            "template_spec": t.model_dump(mode="json"),
            "dataset": spec.snapshot.dataset,
            "snapshot_id": spec.snapshot.id,
            "created_at": created_at,
            "ttl_seconds": spec.ttl_seconds,
            "engine": t.data.engine,
            "connections": self._connections(t, services, sandbox_dir),
            "resources": {
                "workspace": workspace.id,
                "services": {s: c.id for s, c in services.items()},
                "networks": [n.name for n in created.networks],
                "volumes": [v.name for v in created.volumes],
                "images": images,
                "dir": str(sandbox_dir),
            },
            "load": report,
            "timings": timings,
        }
        self.states.write(project, name, state)
        self.console.detail(f"create timings: {timings}")
        return self._info(state, "ready")

    def _ca_bundle(self) -> Path | None:
        """An explicit override; otherwise ``build_image`` takes the template's bundle, then
        ``$SANDBOXER_CA_BUNDLE``."""
        value = self.options.get("ca_bundle")
        return Path(value) if value else None

    def _hardening(self, resources: Any, labels: dict[str, str], role: str) -> dict[str, Any]:
        return {
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "mem_limit": str(resources.memory),
            "memswap_limit": str(resources.memory),
            "nano_cpus": int(float(resources.cpus) * 1e9),
            "pids_limit": int(resources.pids),
            "labels": {**labels, L_ROLE: role},
            "detach": True,
            "ipc_mode": "private",
        }

    def _create_service(
        self,
        spec: SandboxSpec,
        sname: str,
        service: Any,
        image: str,
        labels: dict[str, str],
        base: str,
        net: Any,
        publish_net: Any,
        created: _Created,
        sandbox_dir: Path,
    ) -> tuple[Any, Path | None]:
        if not _is_postgres(service):
            raise SandboxerError(
                f"Service `{sname}` has kind `{service.kind}`, which the docker backend cannot run",
                hint="Supported service kinds: postgres.",
            )
        data = spec.template.data
        secret = _write_secret(
            sandbox_dir / "secrets" / f"{sname}_password", secrets.token_urlsafe(24)
        )
        volume = self.client.volumes.create(
            f"{base}-{sname}-data", labels={**labels, L_ROLE: "data"}
        )
        created.volumes.append(volume)
        secret_mount = f"{SECRET_MOUNT}/{sname}_password"
        # The image's entrypoint creates the cluster on first start from these (paths and
        # names only: the password is read from the mounted file).
        env = {**service.env, "POSTGRES_PASSWORD_FILE": secret_mount}
        if data.engine == "postgres" and data.service == sname:
            env.update(POSTGRES_USER=data.user, POSTGRES_DB=data.database)
        health = (
            service.healthcheck.to_docker()
            if service.healthcheck
            else {
                "test": PG_HEALTH,
                "interval": 1_000_000_000,
                "timeout": 5_000_000_000,
                "retries": 60,
            }
        )
        # The data dir's parent is a volume (data survives stop/start), the rest tmpfs.
        tmpfs = [p for p in (service.tmpfs or ["/tmp", "/run/postgresql"]) if p != PG_HOME]
        kwargs = self._hardening(service.resources, labels, sname)
        kwargs["cap_add"] = list(service.cap_add) or None
        container = self.client.containers.create(
            image,
            name=f"{base}-{sname}",
            user="postgres",
            group_add=[str(_secret_gid())],
            environment=env,
            read_only=bool(service.read_only_root),
            tmpfs={p: TMPFS_OPTIONS for p in tmpfs} if service.read_only_root else None,
            volumes={
                volume.name: {"bind": PG_HOME, "mode": "rw"},
                str(secret): {"bind": secret_mount, "mode": "ro"},
            },
            network=publish_net.name,
            ports={f"{PG_PORT}/tcp": ("127.0.0.1", None)},
            healthcheck=health,
            stop_signal="SIGINT",  # fast shutdown: don't wait for clients
            hostname=sname,
            **kwargs,
        )
        created.containers.append(container)
        if publish_net is not net:
            net.connect(container, aliases=[sname])
        container.start()
        return container, secret

    def _wait_healthy(self, sandbox: str, sname: str, container: Any, service: Any) -> None:
        """Poll the container's own health check, and run the same check now and then so a
        long check interval does not delay a create."""
        deadline = time.monotonic() + self.health_timeout
        test = (container.attrs.get("Config", {}).get("Healthcheck") or {}).get("Test") or []
        while True:
            container.reload()
            st = container.attrs["State"]
            if st.get("Status") in ("exited", "dead"):
                raise self._service_error(
                    sandbox, sname, container, f"exited (code {st.get('ExitCode')})"
                )
            if (st.get("Health") or {}).get("Status") == "healthy":
                return
            if test and test[0] in ("CMD", "CMD-SHELL"):
                cmd = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else list(test[1:])
                if container.exec_run(cmd).exit_code == 0:
                    return
            if time.monotonic() > deadline:
                raise self._service_error(
                    sandbox,
                    sname,
                    container,
                    f"did not become healthy within {self.health_timeout:.0f} s",
                )
            time.sleep(0.05)  # each round already costs an inspect and an exec

    def _service_error(self, sandbox: str, sname: str, container: Any, what: str) -> Exception:
        try:
            tail = container.logs(tail=15).decode(errors="replace").rstrip()
        except Exception:  # the container may be gone already
            tail = ""
        return SandboxerError(
            f"Service `{sname}` of sandbox `{sandbox}` {what}",
            hint=("Last log lines:\n" + tail) if tail else "It wrote no logs.",
        )

    def _create_workspace(
        self,
        spec: SandboxSpec,
        image: str,
        labels: dict[str, str],
        base: str,
        net: Any,
        publish_net: Any,
        volume: Any,
        secret_files: dict[str, Path],
        snapshot: SnapshotInfo,
    ) -> Any:
        t = spec.template
        ws = t.workspace
        volumes: dict[str, dict[str, str]] = {
            volume.name: {"bind": DATA_MOUNT, "mode": "rw"},
            str(snapshot.path.resolve()): {"bind": SNAPSHOT_MOUNT, "mode": "ro"},
        }
        if t.data.engine == "duckdb":
            from sandboxer.sandbox.load import LOADER_MOUNT, LOADER_PATH

            volumes[str(Path(LOADER_PATH).resolve())] = {"bind": LOADER_MOUNT, "mode": "ro"}
        if ws.mount_project:
            volumes[str(spec.project_dir.resolve())] = {"bind": ws.workdir, "mode": "rw"}
        for sname, path in secret_files.items():
            volumes[str(path)] = {"bind": f"{SECRET_MOUNT}/{sname}_password", "mode": "ro"}
        env = {**t.env, **self._service_env(t)}
        tmpfs = {p: TMPFS_OPTIONS for p in ws.tmpfs} if ws.read_only_root else {}
        kwargs = self._hardening(t.resources, labels, "workspace")
        use_publish = bool(t.ports) and publish_net is not net
        container = self.client.containers.create(
            image,
            ["sleep", "infinity"],
            name=f"{base}-workspace",
            user=ws.user,
            group_add=[str(_secret_gid())] if secret_files else None,
            working_dir=ws.workdir,
            environment=env,
            read_only=bool(ws.read_only_root),
            tmpfs=tmpfs or None,
            volumes=volumes,
            network=(publish_net if use_publish else net).name,
            ports={f"{p}/tcp": ("127.0.0.1", None) for p in t.ports} or None,
            healthcheck=t.healthcheck.to_docker() if t.healthcheck else None,
            hostname=validate_name(spec.name)[:63],
            init=True,  # sleep as PID 1 ignores SIGTERM; docker-init makes `stop` instant
            **kwargs,
        )
        if use_publish:
            net.connect(container, aliases=["workspace"])
        return container

    def _service_env(self, t: Template) -> dict[str, str]:
        if t.data.engine != "postgres":
            return {"SANDBOXER_DUCKDB": t.data.path}
        svc = t.data.service
        return {
            "PGHOST": svc,
            "PGPORT": str(PG_PORT),
            "PGUSER": t.data.user,
            "PGDATABASE": t.data.database,
            "PGPASSFILE": "/tmp/.pgpass",
            "SANDBOXER_PG_PASSWORD_FILE": f"{SECRET_MOUNT}/{svc}_password",
        }

    def _prepare_workspace(
        self, t: Template, workspace: Any, secret_files: dict[str, Path]
    ) -> None:
        """Per start: a libpq password file on tmpfs, built inside the container from the
        mounted secret (libpq refuses group-readable password files)."""
        if t.data.engine != "postgres" or t.data.service not in secret_files:
            return
        script = (
            'umask 077; printf "*:*:*:*:%s\\n" "$(cat "$SANDBOXER_PG_PASSWORD_FILE")" '
            '> "$PGPASSFILE"'
        )
        result = workspace.exec_run(["sh", "-c", script])
        if result.exit_code != 0:
            self.console.warn("Could not write the PostgreSQL password file in the workspace")

    # -- loading ---------------------------------------------------------------------------

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
        if t.data.engine == "duckdb":
            from sandboxer.sandbox.load import duckdb_loader_command

            target = db_path or t.data.path
            code, out, err = self._run(
                workspace, duckdb_loader_command(SNAPSHOT_MOUNT, target), user=t.workspace.user
            )
            report = _last_json(out)
            if code != 0 or report is None:
                raise SandboxerError(
                    f"Loading the snapshot into DuckDB failed (exit {code})",
                    hint=_tail(err or out),
                )
        else:
            from sandboxer.sandbox.load import load_postgres

            svc = t.data.service
            url = self._pg_url(t, services[svc], sandbox_dir, with_password=True)
            load = load_postgres(snapshot, url)
            report = report_dict(load)
        check_report(report)
        return report

    def _pg_url(
        self,
        t: Template,
        container: Any,
        sandbox_dir: Path,
        *,
        with_password: bool,
        database: str | None = None,
    ) -> str:
        from urllib.parse import quote

        port = _host_port(container, PG_PORT)
        user = quote(t.data.user, safe="")
        if with_password:
            secret = (sandbox_dir / "secrets" / f"{t.data.service}_password").read_text().strip()
            user = f"{user}:{quote(secret, safe='')}"
        return f"postgresql://{user}@127.0.0.1:{port}/{quote(database or t.data.database)}"

    def _connections(
        self, t: Template, services: dict[str, Any], sandbox_dir: Path
    ) -> dict[str, str]:
        if t.data.engine == "duckdb":
            return {"duckdb": t.data.path}
        svc = t.data.service
        return {
            "postgres": self._pg_url(t, services[svc], sandbox_dir, with_password=False),
            "postgres_workspace": f"postgresql://{t.data.user}@{svc}:{PG_PORT}/{t.data.database}",
            "postgres_password_file": str(sandbox_dir / "secrets" / f"{svc}_password"),
        }

    def _hook(self, workspace: Any, t: Template, kind: str, line: str) -> None:
        self.console.step(f"{kind}: {line}")
        code, _, _ = self._run(workspace, ["sh", "-c", line], user=t.workspace.user, echo=True)
        if code != 0:
            raise SandboxerError(
                f"The {kind} hook `{line}` failed (exit {code})",
                hint="Fix the hook in the template, then create again with --replace.",
            )

    def _run(
        self, container: Any, cmd: Sequence[str], *, user: str = "", echo: bool = False
    ) -> tuple[int, str, str]:
        """Run a command in a container; collect (and optionally show) its output."""
        out: list[bytes] = []
        err: list[bytes] = []

        def collect(stream: int, data: bytes) -> None:
            (out if stream == 1 else err).append(data)
            if echo:
                for text in data.decode(errors="replace").splitlines():
                    self.console.info(f"  {text}")

        code = self._exec_stream(container.id, cmd, collect, user=user)
        return code, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace")

    def _exec_stream(
        self, container_id: str, cmd: Sequence[str], sink: Any, *, user: str = ""
    ) -> int:
        """``docker exec`` without a TTY: ``sink(1 | 2, bytes)`` per frame; the exit code.

        The SDK's ``exec_start(stream=True)`` never closes its socket; reading the raw socket
        ourselves lets us close it.
        """
        from docker.utils.socket import frames_iter

        api = self.client.api
        ex = api.exec_create(container_id, list(cmd), user=user or "")
        sock = api.exec_start(ex["Id"], socket=True)
        raw = getattr(sock, "_sock", None)
        try:
            for stream, data in frames_iter(sock, tty=False):
                if data:
                    sink(stream, data)
        finally:
            sock.close()
            if raw is not None:
                raw.close()
        return int(api.exec_inspect(ex["Id"])["ExitCode"] or 0)

    # -- lifecycle -------------------------------------------------------------------------

    def list(self, project: str | None = None) -> list[SandboxInfo]:
        states = {
            (s["project"], s["name"]): s
            for s in self.states.list(project)
            if s.get("backend") == self.name
        }
        groups = self._groups(project)
        infos = []
        for key in sorted(set(states) | set(groups)):
            infos.append(self._merge(key, states.get(key), groups.get(key, _Group())))
        return infos

    def status(self, name: str, project: str) -> SandboxInfo:
        state = self._state(name, project, required=False)
        group = self._groups(project, name).get((project, name), _Group())
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

        return self._exec_stream(workspace.id, command, passthrough)

    def logs(self, name: str, project: str, *, follow: bool = False) -> None:
        self._state(name, project)
        group = self._groups(project, name).get((project, name), _Group())
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
        group = self._groups(project, name).get((project, name), _Group())
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
            self._wait_healthy(name, sname, c, t.services[sname])
        workspace = self.client.containers.get(state["resources"]["workspace"])
        if workspace.status != "running":
            workspace.start()
        sandbox_dir = Path(state["resources"]["dir"])
        secret_files = {s: sandbox_dir / "secrets" / f"{s}_password" for s in services}
        self._prepare_workspace(t, workspace, secret_files)
        for line in t.hooks.post_start:
            self._hook(workspace, t, "post_start", line)
        # Published ports are chosen again by the engine at every start.
        state["connections"] = self._connections(t, services, sandbox_dir)
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
        self.console.step(f"Reloading snapshot {snapshot.id} into {t.data.engine}")
        if t.data.engine == "duckdb":
            # Load into a new file, then swap: the old data stays usable until the new is ok.
            fresh = f"{t.data.path}.reset"
            self._run(workspace, ["rm", "-f", fresh, f"{fresh}.wal"], user=t.workspace.user)
            report = self._load(t, workspace, services, sandbox_dir, snapshot, db_path=fresh)
            code, _, err = self._run(
                workspace,
                ["sh", "-c", 'rm -f "$2.wal" && mv -f "$1" "$2"', "swap", fresh, t.data.path],
                user=t.workspace.user,
            )
            if code != 0:
                raise SandboxerError(f"Could not swap the reloaded DuckDB file: {_tail(err)}")
        else:
            self._recreate_pg_database(t, services[t.data.service], sandbox_dir)
            report = self._load(t, workspace, services, sandbox_dir, snapshot)
        state.update(
            snapshot_id=snapshot.id,
            dataset=snapshot.dataset,
            load=report,
            connections=self._connections(t, services, sandbox_dir),
        )
        self.states.write(project, name, strip_format(state))
        return self._info(state, "ready")

    def _recreate_pg_database(self, t: Template, container: Any, sandbox_dir: Path) -> None:
        import psycopg
        from psycopg import sql

        url = self._pg_url(t, container, sandbox_dir, with_password=True, database="postgres")
        with psycopg.connect(url, autocommit=True) as con:
            db = sql.Identifier(t.data.database)
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
            con.execute(sql.SQL("CREATE DATABASE {}").format(db))

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
        net = by_name.get(f"{_resource_name(project, name)}-net")
        publish = by_name.get(f"{_resource_name(project, name)}-pub", net)
        volume = self.client.volumes.get(f"{_resource_name(project, name)}-data")
        sandbox_dir = Path(state["resources"]["dir"])
        secret_files = {s: sandbox_dir / "secrets" / f"{s}_password" for s in services}
        spec = SandboxSpec(
            name=name,
            project=project,
            project_dir=Path(state["project_dir"]),
            template=t,
            snapshot=snapshot,
        )
        old.remove(force=True)
        new = self._create_workspace(
            spec,
            old.image.tags[0] if old.image.tags else old.image.id,
            labels,
            _resource_name(project, name),
            net,
            publish,
            volume,
            secret_files,
            snapshot,
        )
        new.start()
        self._prepare_workspace(t, new, secret_files)
        state["resources"]["workspace"] = new.id
        return new

    def destroy(self, name: str, project: str) -> None:
        state = self._state(name, project, required=False)
        group = self._labelled(project, name)
        if state is None and not any(group.values()):
            raise self._not_found(name, project)
        self._destroy(project, name, group)

    def _destroy(self, project: str, name: str, group: dict[str, Any]) -> None:
        # State file first: from here on the sandbox is never listed as ready.
        self.states.path(project, name).unlink(missing_ok=True)
        self._remove(group["containers"], group["networks"], group["volumes"])
        self.states.delete(project, name)

    def gc(self, *, ttl_seconds: int | None = None) -> builtins.list[str]:
        removed: builtins.list[str] = []
        now = dt.datetime.now(dt.UTC)
        groups = self._groups(None)
        states = {
            (s["project"], s["name"]): s
            for s in self.states.list()
            if s.get("backend") == self.name
        }
        for key in sorted(set(groups) | set(states)):
            project, name = key
            group = groups.get(key, _Group())
            state = states.get(key)
            reason = None
            if state is None:
                if self.states.create_running(project, name):
                    continue  # a live create owns these resources
                reason = "partial (interrupted create)"
            elif group.empty or not self._resources_exist(state, group):
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
            self._remove(group.containers, group.networks, group.volumes)
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

    def _groups(
        self, project: str | None, name: str | None = None
    ) -> dict[tuple[str, str], _Group]:
        found = self._labelled(project, name)
        groups: dict[tuple[str, str], _Group] = {}
        for kind, items in found.items():
            for item in items:
                labels = (item.attrs.get("Labels") if kind != "containers" else item.labels) or {}
                key = (labels.get(L_PROJECT, "?"), labels.get(L_SANDBOX, "?"))
                getattr(groups.setdefault(key, _Group()), kind).append(item)
        return groups

    def _resources_exist(self, state: dict[str, Any], group: _Group) -> bool:
        res = state.get("resources", {})
        ids = {c.id for c in group.containers}
        wanted = [res.get("workspace"), *res.get("services", {}).values()]
        nets = {n.name for n in group.networks}
        vols = {v.name for v in group.volumes}
        return (
            all(i in ids for i in wanted)
            and set(res.get("networks", [])) <= nets
            and set(res.get("volumes", [])) <= vols
        )

    def _merge(
        self, key: tuple[str, str], state: dict[str, Any] | None, group: _Group
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
        if group.empty or not self._resources_exist(state, group):
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

    def _remove(
        self, containers: Sequence[Any], networks: Sequence[Any], volumes: Sequence[Any]
    ) -> None:
        from docker.errors import APIError, NotFound

        for kind, items in (("container", containers), ("network", networks), ("volume", volumes)):
            for item in items:
                try:
                    if kind == "container":
                        item.remove(force=True, v=True)
                    else:
                        item.remove()
                except NotFound:
                    continue
                except APIError as e:
                    self.console.warn(f"Could not remove {kind} {item.name}: {e.explanation}")


class _Created:
    """Resources made by one create attempt: what a failed attempt removes."""

    def __init__(self) -> None:
        self.containers: list[Any] = []
        self.networks: list[Any] = []
        self.volumes: list[Any] = []


class _Group(_Created):
    """Labelled resources of one sandbox."""

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def _resource_name(project: str, name: str) -> str:
    return f"sandboxer-{project}-{name}"


def _is_postgres(service: Any) -> bool:
    return getattr(service, "kind", None) == "postgres"


def _secret_gid() -> int:
    return SECRETS_GID if os.geteuid() == 0 else os.getegid()


def _write_secret(path: Path, value: str) -> Path:
    """Write a secret file readable by its owner and the secrets group only (0440)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, value.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if os.geteuid() == 0:
        os.chown(path, 0, SECRETS_GID)
    os.chmod(path, 0o440)
    return path


def _host_port(container: Any, port: int) -> int:
    container.reload()
    bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{port}/tcp") or []
    for b in bindings:
        if b.get("HostIp") == "127.0.0.1" and b.get("HostPort"):
            return int(b["HostPort"])
    raise SandboxerError(f"Container {container.name} has no port {port} published on 127.0.0.1")


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "no output"
