"""Service containers of a Docker sandbox (kind ``postgres``: the PostgreSQL service).

A service runs hardened like every container (see ``resources.hardening``), as the
``postgres`` user with no capabilities; its password is a secret file bind-mounted read-only
(group-owned by a group only sandbox containers join: Kubernetes' ``fsGroup`` pattern).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.sandbox.docker.resources import (
    L_ROLE,
    TMPFS_OPTIONS,
    Created,
    hardening,
    secret_file,
    secret_gid,
    secret_mount,
    write_secret,
)
from sandboxer.sandbox.engines import PostgresEngine, get_engine

if TYPE_CHECKING:
    from sandboxer.sandbox.base import SandboxSpec

PG_HOME = "/var/lib/postgresql"
PG_PORT = PostgresEngine.port
PG_HEALTH = ["CMD", "pg_isready", "-q"]


def is_postgres(service: Any) -> bool:
    """Whether ``service`` is of kind ``postgres`` (the kind this backend runs; it publishes
    its port on 127.0.0.1)."""
    return getattr(service, "kind", None) == "postgres"


def create_service(
    client: Any,
    spec: SandboxSpec,
    sname: str,
    service: Any,
    image: str,
    labels: dict[str, str],
    base: str,
    net: Any,
    publish_net: Any,
    created: Created,
    sandbox_dir: Path,
) -> tuple[Any, Path | None]:
    """Create and start service ``sname`` with a fresh password file; returns the container
    and that file."""
    if not is_postgres(service):
        raise SandboxerError(
            f"Service `{sname}` has kind `{service.kind}`, which the docker backend cannot run",
            hint="Supported service kinds: postgres.",
        )
    data = spec.template.data
    secret = write_secret(secret_file(sandbox_dir, sname), secrets.token_urlsafe(24))
    volume = client.volumes.create(f"{base}-{sname}-data", labels={**labels, L_ROLE: "data"})
    created.volumes.append(volume)
    mount = secret_mount(sname)
    # The image's entrypoint creates the cluster on first start from these (paths and
    # names only: the password is read from the mounted file).
    env = {**service.env, "POSTGRES_PASSWORD_FILE": mount}
    if get_engine(data.engine).service(data) == sname:
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
    kwargs = hardening(service.resources, labels, sname)
    kwargs["cap_add"] = list(service.cap_add) or None
    container = client.containers.create(
        image,
        name=f"{base}-{sname}",
        user="postgres",
        group_add=[str(secret_gid())],
        environment=env,
        read_only=bool(service.read_only_root),
        tmpfs={p: TMPFS_OPTIONS for p in tmpfs} if service.read_only_root else None,
        volumes={
            volume.name: {"bind": PG_HOME, "mode": "rw"},
            str(secret): {"bind": mount, "mode": "ro"},
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


def wait_healthy(sandbox: str, sname: str, container: Any, timeout: float) -> None:
    """Poll the container's own health check, and run the same check now and then so a
    long check interval does not delay a create."""
    deadline = time.monotonic() + timeout
    test = (container.attrs.get("Config", {}).get("Healthcheck") or {}).get("Test") or []
    while True:
        container.reload()
        st = container.attrs["State"]
        if st.get("Status") in ("exited", "dead"):
            raise service_error(sandbox, sname, container, f"exited (code {st.get('ExitCode')})")
        if (st.get("Health") or {}).get("Status") == "healthy":
            return
        if test and test[0] in ("CMD", "CMD-SHELL"):
            cmd = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else list(test[1:])
            if container.exec_run(cmd).exit_code == 0:
                return
        if time.monotonic() > deadline:
            raise service_error(
                sandbox, sname, container, f"did not become healthy within {timeout:.0f} s"
            )
        time.sleep(0.05)  # each round already costs an inspect and an exec


def service_error(sandbox: str, sname: str, container: Any, what: str) -> SandboxerError:
    """The error for a service that failed, with the last lines of its log."""
    try:
        tail = container.logs(tail=15).decode(errors="replace").rstrip()
    except Exception:  # the container may be gone already
        tail = ""
    return SandboxerError(
        f"Service `{sname}` of sandbox `{sandbox}` {what}",
        hint=("Last log lines:\n" + tail) if tail else "It wrote no logs.",
    )
