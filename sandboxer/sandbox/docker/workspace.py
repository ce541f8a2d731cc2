"""The workspace container of a Docker sandbox, and running commands in it.

The workspace mounts the data volume (``/data``), the snapshot read-only (``/snapshot``), the
project directory when the template asks for it and the services' password files; its
environment points clients at the data engine. Commands run through ``docker exec`` without a
TTY, their output collected or passed through.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.sandbox.docker.resources import (
    DATA_MOUNT,
    SECRET_MOUNT,
    SNAPSHOT_MOUNT,
    TMPFS_OPTIONS,
    hardening,
    secret_gid,
    secret_mount,
)
from sandboxer.sandbox.engines import get_engine
from sandboxer.sandbox.state import validate_name

if TYPE_CHECKING:
    from sandboxer.console import Console
    from sandboxer.sandbox.base import SandboxSpec
    from sandboxer.sandbox.templates import Template
    from sandboxer.snapshot.store import SnapshotInfo


def create_workspace(
    client: Any,
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
    """Create (not start) the workspace container of ``spec`` with ``snapshot`` mounted."""
    t = spec.template
    ws = t.workspace
    volumes: dict[str, dict[str, str]] = {
        volume.name: {"bind": DATA_MOUNT, "mode": "rw"},
        str(snapshot.path.resolve()): {"bind": SNAPSHOT_MOUNT, "mode": "ro"},
    }
    loader = get_engine(t.data.engine).workspace_loader
    if loader is not None:
        volumes[str(loader.path.resolve())] = {"bind": loader.mount, "mode": "ro"}
    if ws.mount_project:
        volumes[str(spec.project_dir.resolve())] = {"bind": ws.workdir, "mode": "rw"}
    for sname, path in secret_files.items():
        volumes[str(path)] = {"bind": secret_mount(sname), "mode": "ro"}
    env = {**t.env, **workspace_env(t)}
    tmpfs = {p: TMPFS_OPTIONS for p in ws.tmpfs} if ws.read_only_root else {}
    kwargs = hardening(t.resources, labels, "workspace")
    use_publish = bool(t.ports) and publish_net is not net
    container = client.containers.create(
        image,
        ["sleep", "infinity"],
        name=f"{base}-workspace",
        user=ws.user,
        group_add=[str(secret_gid())] if secret_files else None,
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


def workspace_env(t: Template) -> dict[str, str]:
    """What points clients in the workspace at the data engine."""
    return get_engine(t.data.engine).workspace_env(t.data, secret_dir=SECRET_MOUNT)


def prepare_workspace(
    console: Console, t: Template, workspace: Any, secret_files: dict[str, Path]
) -> None:
    """Per start: the engine's password file, built inside the container from the mounted
    secret (on tmpfs; clients refuse group-readable password files)."""
    engine = get_engine(t.data.engine)
    if engine.password_setup is None or engine.service(t.data) not in secret_files:
        return
    result = workspace.exec_run(["sh", "-c", engine.password_setup])
    if result.exit_code != 0:
        console.warn(f"Could not write the {engine.label} password file in the workspace")


def hook(client: Any, console: Console, workspace: Any, t: Template, kind: str, line: str) -> None:
    """Run one hook line in the workspace as its user, showing its output; raise on failure."""
    console.step(f"{kind}: {line}")
    code, _, _ = run(
        client, console, workspace, ["sh", "-c", line], user=t.workspace.user, echo=True
    )
    if code != 0:
        raise SandboxerError(
            f"The {kind} hook `{line}` failed (exit {code})",
            hint="Fix the hook in the template, then create again with --replace.",
        )


def run(
    client: Any,
    console: Console,
    container: Any,
    cmd: Sequence[str],
    *,
    user: str = "",
    echo: bool = False,
) -> tuple[int, str, str]:
    """Run a command in a container; collect (and optionally show) its output."""
    out: list[bytes] = []
    err: list[bytes] = []

    def collect(stream: int, data: bytes) -> None:
        (out if stream == 1 else err).append(data)
        if echo:
            for text in data.decode(errors="replace").splitlines():
                console.info(f"  {text}")

    code = exec_stream(client, container.id, cmd, collect, user=user)
    return code, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace")


def exec_stream(
    client: Any, container_id: str, cmd: Sequence[str], sink: Any, *, user: str = ""
) -> int:
    """``docker exec`` without a TTY: ``sink(1 | 2, bytes)`` per frame; the exit code.

    The SDK's ``exec_start(stream=True)`` never closes its socket; reading the raw socket
    ourselves lets us close it.
    """
    from docker.utils.socket import frames_iter

    api = client.api
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


def last_json(text: str) -> dict[str, Any] | None:
    """The last line of ``text`` that is a JSON object (a loader's report)."""
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


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "no output"
