"""The snapshot in a Docker sandbox's data engine: loaded and verified, reloaded, and the
connection strings people and pipelines use.

An engine with a workspace loader (DuckDB) is loaded inside the workspace by that
self-contained script, with the snapshot mounted read-only; a server engine (PostgreSQL, the
one server engine so far) is loaded from this machine through the port its service publishes
on 127.0.0.1, with the password from the sandbox's secret file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.sandbox.docker.network import host_port
from sandboxer.sandbox.docker.resources import SNAPSHOT_MOUNT, secret_file
from sandboxer.sandbox.docker.services import PG_PORT
from sandboxer.sandbox.docker.workspace import last_json, run, tail
from sandboxer.sandbox.engines import PostgresEngine, get_engine
from sandboxer.sandbox.engines.postgres import pg_url, recreate_database
from sandboxer.sandbox.state import check_report, report_dict

if TYPE_CHECKING:
    from sandboxer.console import Console
    from sandboxer.sandbox.templates import Template
    from sandboxer.snapshot.store import SnapshotInfo


def load_snapshot(
    client: Any,
    console: Console,
    t: Template,
    workspace: Any,
    services: dict[str, Any],
    sandbox_dir: Path,
    snapshot: SnapshotInfo,
    *,
    db_path: str | None = None,
) -> dict[str, Any]:
    """Load ``snapshot`` (mounted in the running ``workspace``) into the template's engine;
    the verified report. ``db_path`` loads an embedded engine into another file."""
    engine = get_engine(t.data.engine)
    loader = engine.workspace_loader
    if loader is not None:
        target = db_path or t.data.path
        code, out, err = run(
            client,
            console,
            workspace,
            loader.command(SNAPSHOT_MOUNT, target),
            user=t.workspace.user,
        )
        report = last_json(out)
        if code != 0 or report is None:
            raise SandboxerError(
                f"Loading the snapshot into {engine.label} failed (exit {code})",
                hint=tail(err or out),
            )
    else:
        url = server_url(t, services[t.data.service], sandbox_dir, with_password=True)
        report = report_dict(engine.load(snapshot, url))
    check_report(report)
    return report


def server_url(
    t: Template,
    container: Any,
    sandbox_dir: Path,
    *,
    with_password: bool,
    database: str | None = None,
) -> str:
    """The URL of the PostgreSQL service ``container`` from this machine (its published port)."""
    port = host_port(container, PG_PORT)
    password = (
        secret_file(sandbox_dir, t.data.service).read_text().strip() if with_password else None
    )
    return pg_url(t.data.user, "127.0.0.1", port, database or t.data.database, password=password)


def connections(t: Template, services: dict[str, Any], sandbox_dir: Path) -> dict[str, str]:
    """Connection strings of the data, keyed by the engine's name (no passwords: a server
    engine's password is the secret file named here)."""
    engine = get_engine(t.data.engine)
    if engine.embedded:
        return {engine.name: t.data.path}
    svc = t.data.service
    return {
        engine.name: server_url(t, services[svc], sandbox_dir, with_password=False),
        f"{engine.name}_workspace": pg_url(t.data.user, svc, PG_PORT, t.data.database),
        f"{engine.name}_password_file": str(secret_file(sandbox_dir, svc)),
    }


def empty_database(t: Template, container: Any, sandbox_dir: Path) -> None:
    """Drop the sandbox's PostgreSQL database and create it empty (before a reload)."""
    admin = server_url(
        t, container, sandbox_dir, with_password=True, database=PostgresEngine.admin_database
    )
    recreate_database(admin, t.data.database)
