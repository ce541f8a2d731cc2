"""Creating a Docker sandbox, step by step:

    images -> networks -> volumes -> services (healthy) -> workspace -> load -> verify
    -> hooks -> state file (last, atomic: the sandbox is ready only once it exists)

Every resource is recorded as soon as it exists, so that a failed or interrupted create
removes exactly what it made (``DockerBackend.create``).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer import __version__
from sandboxer.sandbox.docker.data import connections
from sandboxer.sandbox.docker.network import create_networks
from sandboxer.sandbox.docker.resources import (
    L_CREATED,
    L_PROJECT,
    L_ROLE,
    L_SANDBOX,
    L_TEMPLATE,
    L_TTL,
    L_VERSION,
    Created,
    resource_name,
)
from sandboxer.sandbox.docker.services import create_service, wait_healthy
from sandboxer.sandbox.docker.workspace import create_workspace, hook, prepare_workspace

if TYPE_CHECKING:
    from sandboxer.sandbox.base import SandboxSpec
    from sandboxer.sandbox.docker.backend import DockerBackend


def create_sandbox(
    backend: DockerBackend, spec: SandboxSpec, created: Created, started: float
) -> dict[str, Any]:
    """Make every resource of a new sandbox (recording each in ``created``), load and verify
    the snapshot, run the hooks, and write the state file last; returns the state."""
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
    base = resource_name(project, name)
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[step] = round(now - mark, 3)
        mark = now

    backend.console.step(f"Images for template `{t.name}`")
    ca_bundle = _ca_bundle(backend.options)
    images = {
        "workspace": build_image(
            backend.client, t, "workspace", backend.console, ca_bundle=ca_bundle
        )
    }
    for role in t.services:
        images[role] = build_image(backend.client, t, role, backend.console, ca_bundle=ca_bundle)
    lap("images")

    backend.console.step("Network and volumes")
    sandbox_dir = backend.states.sandbox_dir(project, name)
    sandbox_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(sandbox_dir, 0o700)
    net, publish_net = create_networks(backend.client, t, base, labels, created)
    volume = backend.client.volumes.create(f"{base}-data", labels={**labels, L_ROLE: "data"})
    created.volumes.append(volume)
    lap("network")

    secret_files: dict[str, Path] = {}
    services: dict[str, Any] = {}
    for sname, service in t.services.items():
        backend.console.step(f"Service `{sname}`")
        container, secret = create_service(
            backend.client,
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
        wait_healthy(name, sname, container, backend.health_timeout)
    lap("services")

    backend.console.step("Workspace")
    workspace = create_workspace(
        backend.client,
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

    backend.console.step(f"Loading snapshot {spec.snapshot.id} into {t.data.engine}")
    # Through the backend: a subclass (or a test) can replace the load step.
    report = backend._load(t, workspace, services, sandbox_dir, spec.snapshot)
    lap("load")

    prepare_workspace(backend.console, t, workspace, secret_files)
    for line in t.hooks.on_create:
        hook(backend.client, backend.console, workspace, t, "on_create", line)
    for line in t.hooks.post_start:
        hook(backend.client, backend.console, workspace, t, "post_start", line)
    lap("hooks")

    timings["total"] = round(time.perf_counter() - started, 3)
    state = {
        **spec.state(backend.name, t.data.engine, created_at),
        "connections": connections(t, services, sandbox_dir),
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
    backend.states.write(project, name, state)
    backend.console.detail(f"create timings: {timings}")
    return state


def _ca_bundle(options: dict[str, Any]) -> Path | None:
    """An explicit override; otherwise ``build_image`` takes the template's bundle, then
    ``$SANDBOXER_CA_BUNDLE``."""
    value = options.get("ca_bundle")
    return Path(value) if value else None
