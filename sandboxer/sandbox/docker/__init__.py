"""The Docker backend: one network, one data volume, service containers and a workspace.

Every container runs hardened (non-root, ``cap_drop=ALL`` plus a service's own ``cap_add``,
no-new-privileges, read-only root where the template allows, memory/CPU/pids limits, never the
Docker socket or host namespaces). The sandbox network is ``internal`` (no egress) unless the
template opts in; containers with published ports also join a bridge without NAT
(``network``).

Secrets (the PostgreSQL password) are files under the sandbox's state directory (mode 0700),
bind-mounted read-only into the containers that need them. Bind mounts keep host ownership and
the containers run as other non-root users, so the file is 0440 and group-owned by a dedicated
group that only these containers join (``group_add``: Kubernetes' ``fsGroup`` pattern).

    backend     DockerBackend: create step by step, then list/exec/stop/start/reset/destroy/gc
    resources   labels and names, hardened run options, secret files, finding and removing
    network     the internal network and the publishing bridge, published ports
    services    service containers (PostgreSQL), waiting until they are healthy
    workspace   the workspace container, its environment, running commands and hooks in it
    data        the snapshot into the data engine, reloads, connection strings
"""

from __future__ import annotations

from sandboxer.sandbox.docker.backend import DockerBackend
from sandboxer.sandbox.docker.resources import L_PROJECT, L_ROLE, L_SANDBOX

__all__ = ["L_PROJECT", "L_ROLE", "L_SANDBOX", "DockerBackend"]
