"""A Docker sandbox's resources: their labels and names, the hardened run options every
container gets, the secret files, and how they are found and removed again (by label only:
never anything sandboxer did not make)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.sandbox.base import LABEL_PREFIX

if TYPE_CHECKING:
    from sandboxer.console import Console

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
TMPFS_OPTIONS = "rw,nosuid,nodev,mode=1777"


class Created:
    """Resources made by one create attempt: what a failed attempt removes."""

    def __init__(self) -> None:
        self.containers: list[Any] = []
        self.networks: list[Any] = []
        self.volumes: list[Any] = []


class Group(Created):
    """Labelled resources of one sandbox."""

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def resource_name(project: str, name: str) -> str:
    return f"sandboxer-{project}-{name}"


def hardening(resources: Any, labels: dict[str, str], role: str) -> dict[str, Any]:
    """Run options of every container: no capabilities, no privilege gain, limits, labels."""
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


# -- secrets ----------------------------------------------------------------------------------


def secret_file(sandbox_dir: Path, service: str) -> Path:
    """The host path of a service's password file."""
    return sandbox_dir / "secrets" / f"{service}_password"


def secret_mount(service: str) -> str:
    """Where containers see a service's password file (mounted read-only)."""
    return f"{SECRET_MOUNT}/{service}_password"


def secret_gid() -> int:
    return SECRETS_GID if os.geteuid() == 0 else os.getegid()


def write_secret(path: Path, value: str) -> Path:
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


# -- finding and removing -------------------------------------------------------------------


def labelled(client: Any, project: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Sandboxer's resources, optionally of one project/sandbox: never anything else."""
    filters = [L_SANDBOX]
    if project:
        filters.append(f"{L_PROJECT}={project}")
    if name:
        filters.append(f"{L_SANDBOX}={name}")
    f = {"label": filters}
    return {
        "containers": client.containers.list(all=True, filters=f),
        "networks": client.networks.list(filters=f),
        "volumes": client.volumes.list(filters=f),
    }


def find_groups(
    client: Any, project: str | None, name: str | None = None
) -> dict[tuple[str, str], Group]:
    """Labelled resources by ``(project, sandbox)``."""
    found = labelled(client, project, name)
    grouped: dict[tuple[str, str], Group] = {}
    for kind, items in found.items():
        for item in items:
            labels = (item.attrs.get("Labels") if kind != "containers" else item.labels) or {}
            key = (labels.get(L_PROJECT, "?"), labels.get(L_SANDBOX, "?"))
            getattr(grouped.setdefault(key, Group()), kind).append(item)
    return grouped


def resources_exist(state: dict[str, Any], group: Group) -> bool:
    """Whether every resource the state file names is among the sandbox's labelled ones."""
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


def remove(
    console: Console,
    containers: Sequence[Any],
    networks: Sequence[Any],
    volumes: Sequence[Any],
) -> None:
    """Remove containers (with their anonymous volumes), then networks, then volumes; what is
    already gone is skipped, what cannot be removed is reported."""
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
                console.warn(f"Could not remove {kind} {item.name}: {e.explanation}")
