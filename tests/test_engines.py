"""The engines CI provides actually work: the base image runs Python in a hardened container.

Sandboxes are built ``FROM`` the base image (``SANDBOXER_BASE_IMAGE``; ``.ci/run`` builds it
locally with ``templates/base-image/build.sh``) and run with the restrictions below, so this is
the smallest proof that later sandbox tests stand on solid ground.
"""

from __future__ import annotations

import errno
import json
import os
from typing import TYPE_CHECKING

import pytest

from tests.conftest import engine_missing

if TYPE_CHECKING:
    import docker

BASE_IMAGE = os.environ.get("SANDBOXER_BASE_IMAGE", "sandboxer-base:bookworm")
NOBODY = 65534

# Runs inside the container; reports what the process can see and do, as one JSON line.
PROBE = """
import json, os
def try_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
    except OSError as e:
        return e.errno
    os.unlink(path)
    return 0
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
print(json.dumps({
    "uid": os.getuid(),
    "gid": os.getgid(),
    "root_write_errno": try_write("/sandboxer-probe"),
    "tmp_write_errno": try_write("/tmp/sandboxer-probe"),
    "cap_eff": status["CapEff"],
    "no_new_privs": status["NoNewPrivs"],
    "interfaces": sorted(os.listdir("/sys/class/net")),
}))
"""


@pytest.mark.docker
def test_base_image_runs_python_hardened(docker_client: docker.DockerClient) -> None:
    import docker.errors

    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        engine_missing(
            f"base image {BASE_IMAGE!r} not found (build it: templates/base-image/build.sh)"
        )

    container = docker_client.containers.run(
        BASE_IMAGE,
        ["python3", "-c", PROBE],
        user=f"{NOBODY}:{NOBODY}",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,size=16m"},
        network_mode="none",
        mem_limit="256m",
        pids_limit=64,
        labels={"sandboxer.test": "test_engines"},
        detach=True,
    )
    try:
        exit_code = container.wait(timeout=60)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode()
        stderr = container.logs(stdout=False, stderr=True).decode()
        assert exit_code == 0, f"probe exited {exit_code}: {stderr}"
        report = json.loads(stdout)
        container.reload()
        host_config = container.attrs["HostConfig"]
    finally:
        container.remove(force=True)

    assert (report["uid"], report["gid"]) == (NOBODY, NOBODY)
    # EROFS, not EACCES: the root filesystem itself is read-only, not just owned by root.
    assert report["root_write_errno"] == errno.EROFS
    assert report["tmp_write_errno"] == 0
    assert int(report["cap_eff"], 16) == 0
    assert report["no_new_privs"] == "1"
    assert report["interfaces"] == ["lo"]
    assert host_config["Memory"] == 256 * 1024 * 1024
    assert host_config["PidsLimit"] == 64
