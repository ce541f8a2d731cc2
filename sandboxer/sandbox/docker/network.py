"""A Docker sandbox's networks and published ports.

The sandbox network is ``internal`` (no egress) unless the template opts in. Docker does not
publish ports of containers on internal networks, so a container with published ports (a
PostgreSQL service, the workspace's ``ports``) also joins a second bridge network with IP
masquerading off: 127.0.0.1 port publishing works, but packets to the outside world leave
without NAT and never come back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.sandbox.docker.resources import L_ROLE, Created
from sandboxer.sandbox.docker.services import is_postgres

if TYPE_CHECKING:
    from sandboxer.sandbox.templates import Template


def create_networks(
    client: Any, t: Template, base: str, labels: dict[str, str], created: Created
) -> tuple[Any, Any]:
    """The sandbox network, and the network that containers with published ports join
    (the same one when the sandbox has egress)."""
    net = client.networks.create(
        f"{base}-net",
        driver="bridge",
        internal=not t.network.egress,
        labels={**labels, L_ROLE: "network"},
    )
    created.networks.append(net)
    publish_net = net
    needs_publish = bool(t.ports) or any(is_postgres(s) for s in t.services.values())
    if needs_publish and not t.network.egress:
        publish_net = client.networks.create(
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
    return net, publish_net


def host_port(container: Any, port: int) -> int:
    """The 127.0.0.1 port the engine published ``port`` of ``container`` on (it can change at
    every start)."""
    container.reload()
    bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{port}/tcp") or []
    for b in bindings:
        if b.get("HostIp") == "127.0.0.1" and b.get("HostPort"):
            return int(b["HostPort"])
    raise SandboxerError(f"Container {container.name} has no port {port} published on 127.0.0.1")
