"""A throwaway PostgreSQL server started from the local server binaries.

Used by the ``pg_cluster`` / ``pg_url`` fixtures and by the benchmarks (no pytest import here).
The cluster trusts every local connection, keeps nothing durable (``fsync=off``) and listens
only on 127.0.0.1 and a unix socket of its own.

PostgreSQL refuses to run as root; when we are root, the server runs as the ``postgres`` OS
user, and its data directory lives in a fresh directory under the system temp dir (which that
user can reach, unlike pytest's ``/tmp/pytest-of-root``), removed again by ``stop()``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")

# Speed over durability: the data is thrown away with the cluster.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "50",
    "shared_buffers": "128MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class PgClusterError(RuntimeError):
    """The cluster could not be created, started or used."""


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, newest version first."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")],
        reverse=True,
    )
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(str(Path(initdb_on_path).resolve().parent))
    for directory in candidates:
        if all(os.access(Path(directory) / tool, os.X_OK) for tool in _SERVER_TOOLS):
            return Path(directory)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One PostgreSQL server: ``start()``, ``url``, ``create_database()``, ``stop()``."""

    def __init__(self, base_dir: Path, *, bin_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.bin_dir = bin_dir
        self.port: int | None = None
        self._root: Path | None = None  # holds data/, the socket and the log
        self._owned_root = False
        self._running = False

    # -- paths -----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        assert self._root is not None, "cluster not started"
        return self._root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self._root is not None, "cluster not started"
        return self._root / "sock"

    @property
    def log_file(self) -> Path:
        assert self._root is not None, "cluster not started"
        return self._root / "server.log"

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database as the ``postgres`` superuser (no password)."""
        if self.port is None:
            raise PgClusterError("the cluster is not started")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    # -- lifecycle -------------------------------------------------------------------------
    def _server_user(self) -> pwd.struct_passwd | None:
        """The OS user the server runs as: ``postgres`` when we are root, else ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise PgClusterError(
                "running as root, but there is no `postgres` OS user to run the server as"
            ) from None

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert self.bin_dir is not None
        exe = self.bin_dir / tool
        if not exe.exists():
            raise PgClusterError(f"PostgreSQL tool not found: {exe}")
        pw = self._server_user()
        if pw is None:
            return subprocess.run(
                [str(exe), *args], capture_output=True, text=True, timeout=timeout,
                cwd=self._root, check=False,
            )  # fmt: skip
        env = {**os.environ, "HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name}
        return subprocess.run(
            [str(exe), *args], capture_output=True, text=True, timeout=timeout,
            cwd=self._root, check=False,
            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], env=env,
        )  # fmt: skip

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def start(self) -> None:
        """initdb, configure and start the server; returns once it accepts connections."""
        if self._running:
            return
        if self.bin_dir is None:
            self.bin_dir = find_pg_bin()
        if self.bin_dir is None:
            raise PgClusterError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
                "/usr/lib/postgresql/*/bin or on PATH; install them with "
                "`apt-get install -y postgresql`"
            )
        missing = [t for t in _SERVER_TOOLS if not (self.bin_dir / t).exists()]
        if missing:
            raise PgClusterError(
                f"PostgreSQL server binaries missing in {self.bin_dir}: {', '.join(missing)}"
            )
        self._prepare_root()
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir(mode=0o700)
        self._chown_to_server_user()

        result = self._run(
            "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        if result.returncode != 0:
            raise PgClusterError(f"initdb failed ({result.returncode}):\n{result.stderr.strip()}")

        # Trust for everyone, except members of `password_auth` (see create_login): they let
        # tests exercise real password failures.
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("host all +password_auth 127.0.0.1/32 scram-sha-256\n" + hba.read_text())

        settings = {**_SETTINGS, "unix_socket_directories": f"'{self.socket_dir}'"}
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# sandboxer test cluster\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

        # The port is free when we look; another process may take it before the server binds.
        last_error = ""
        for _ in range(5):
            self.port = _free_port()
            result = self._run(
                "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                "-t", "60", "-o", f"-p {self.port}",
            )  # fmt: skip
            if result.returncode == 0:
                self._running = True
                return
            last_error = f"{result.stderr.strip()}\n{self._log_tail()}"
            if "could not bind" not in last_error and "in use" not in last_error:
                break
        self.port = None
        raise PgClusterError(f"PostgreSQL server did not start:\n{last_error}")

    def _prepare_root(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The server user must be able to traverse every parent of its data directory.
            self._root = Path(tempfile.mkdtemp(prefix="sandboxer-pg-"))
            self._owned_root = True
            (self.base_dir / "cluster-location").write_text(f"{self._root}\n")
        else:
            self._root = self.base_dir / f"pg-{uuid.uuid4().hex[:8]}"
            self._root.mkdir(mode=0o700)

    def _chown_to_server_user(self) -> None:
        pw = self._server_user()
        if pw is None:
            return
        assert self._root is not None
        for path in (self._root, self.data_dir, self.socket_dir):
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def stop(self) -> None:
        """Stop the server immediately and remove a temp data directory; safe to call twice."""
        if self._running:
            self._running = False
            result = self._run(
                "pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w", timeout=60
            )
            if result.returncode != 0 and "No such process" not in result.stderr:
                self._cleanup()
                raise PgClusterError(f"pg_ctl stop failed: {result.stderr.strip()}")
        self._cleanup()

    def _cleanup(self) -> None:
        if self._owned_root and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._owned_root = False
        self.port = None

    def __enter__(self) -> PgCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------------------
    def create_database(self, name: str | None = None) -> str:
        """Create a database (a unique name unless given); returns its URL."""
        from psycopg import sql

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop_database(self, url: str) -> None:
        """Drop the database a ``create_database`` URL names, closing its connections."""
        from psycopg import sql

        name = urlsplit(url).path.lstrip("/")
        if not name or name == "postgres":
            raise PgClusterError(f"refusing to drop database {name!r}")
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def create_login(self, user: str, password: str) -> None:
        """Create a login role that must authenticate with ``password`` over TCP."""
        from psycopg import sql

        self._admin(
            sql.SQL(
                "DO $$ BEGIN CREATE ROLE password_auth NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
        self._admin(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE password_auth").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )

    def _admin(self, statement: object) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[call-overload]
