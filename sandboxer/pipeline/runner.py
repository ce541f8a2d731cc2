"""Run a planned pipeline inside a sandbox, export its outputs, write the run manifest.

    plan (transpile, order) -> staging dir -> steps (in the sandbox) -> export -> run dir

The sandbox sees the project directory (the process backend runs in it; Docker mounts it at
the template's ``workdir``), not the store. So everything a step needs from the runner (the
transpiled SQL, the small runner programs, dbt profiles) and everything it hands back (logs,
exported Parquet) goes through a staging directory ``<project>/.sandboxer-run/<run-id>/``,
which ignores itself for git. At the end, logs and outputs move into ``run_dir`` on the host and
the staging directory is removed, also when a step fails or the run is interrupted.

Every command runs through ``Sandboxes.exec``, wrapped so that its output goes to a log
file in the staging directory; the host follows that file and streams it to the console, and
keeps the last lines for the error of a failing step.

``run_dir`` ends up with::

    run.json                 the manifest (see ``RunResult.to_json``)
    outputs/<name>.parquet   one per declared output
    logs/<step>.log          the output of each step that ran
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from sandboxer.config.pipeline import DbtStep, Output, Pipeline, PythonStep, ShellStep, SqlStep
from sandboxer.pipeline.errors import PipelineError
from sandboxer.pipeline.manifest import (
    RUN_MANIFEST,
    GitState,
    OutputResult,
    RunManifest,
    StepResult,
)
from sandboxer.pipeline.plan import PlannedStep, plan_steps
from sandboxer.sandbox.engines import get_engine

if TYPE_CHECKING:
    from sandboxer.console import Console
    from sandboxer.sandbox.base import SandboxInfo
    from sandboxer.sandbox.manager import Sandboxes
    from sandboxer.sandbox.templates import Template

STAGING_DIR = ".sandboxer-run"
"""Under the project directory; holds one directory per run while it runs."""
TAIL_LINES = 20
"""Lines of a failing step's output kept for its error."""
SCRIPTS = Path(__file__).resolve().parent / "scripts"
_WRAPPER = 'log="$1"; shift; exec "$@" </dev/null >>"$log" 2>&1'
"""``sh -c`` program: run the rest of argv with all output appended to the log file $1."""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    """``passed`` | ``failed`` | ``interrupted``."""
    steps: list[StepResult]
    outputs: dict[str, OutputResult]
    seconds: float
    manifest: RunManifest = field(repr=False)
    """What run.json holds."""
    error: str | None = None
    failed_step: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return self.manifest.to_dict()


# -- the run ----------------------------------------------------------------------------------


def run_pipeline(
    sandboxes: Sandboxes,
    sandbox_name: str,
    *,
    pipeline: Pipeline,
    project_dir: Path,
    engine: str,
    run_dir: Path,
    console: Console,
    run_id: str | None = None,
) -> RunResult:
    """Run the project's pipeline in sandbox ``sandbox_name`` and export its outputs to
    ``run_dir``. SQL is transpiled and every file checked before the first step starts
    (``TranspileError``/``PipelineError`` are raised then, and nothing runs). A failing step
    stops the run: the result (and run.json) say which, with its exit code and last lines.
    """
    run_id = run_id or run_dir.name or new_run_id()
    started = time.perf_counter()
    started_at = _now()
    plan = plan_steps(pipeline, project_dir, engine=engine)

    info = sandboxes.status(sandbox_name)
    if info.state != "ready":
        raise PipelineError(
            f"Sandbox `{sandbox_name}` is {info.state}",
            hint=f"Start it with `sandboxer start {sandbox_name}`, or create it again.",
        )
    sandbox = _SandboxView(sandboxes, sandbox_name, info)
    git = git_state(project_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    (run_dir / "outputs").mkdir(exist_ok=True)

    results = [StepResult(p.name, p.kind, "skipped", list(p.depends_on), p.inferred) for p in plan]
    outputs: dict[str, OutputResult] = {}
    status, error, failed_step = "failed", None, None
    console.step(
        f"Running {len(plan)} step(s) in sandbox `{sandbox_name}` ({info.backend}, {engine})"
    )

    def manifest(status: str, error: str | None, failed_step: str | None) -> RunManifest:
        return _manifest(
            run_id=run_id,
            status=status,
            error=error,
            failed_step=failed_step,
            started_at=started_at,
            seconds=round(time.perf_counter() - started, 3),
            git=git,
            sandbox=sandbox,
            engine=engine,
            pipeline=pipeline,
            steps=results,
            outputs=outputs,
        )

    staging = _Staging(sandbox, f"run-{run_id}")
    try:
        files_before = _file_stamps(pipeline, project_dir, sandbox)
        for planned, result in zip(plan, results, strict=True):
            _run_step(planned, result, pipeline, staging, sandbox, engine, console)
            shutil.move(
                str(staging.host / "logs" / f"{planned.name}.log"),
                run_dir / "logs" / f"{planned.name}.log",
            )
            result.log = f"logs/{planned.name}.log"
            if result.status != "passed":
                failed_step = planned.name
                error = f"Step `{planned.name}` failed (exit {result.exit_code})"
                if result.exit_code == 124 and planned.step.timeout:
                    error = f"Step `{planned.name}` timed out after {planned.step.timeout}s"
                console.warn(error + (":\n  " + "\n  ".join(result.tail) if result.tail else ""))
                break
        else:
            outputs = export_outputs(
                pipeline, staging, sandbox, engine, run_dir / "outputs", files_before, console
            )
            status = "passed"
    except PipelineError as e:
        error = e.message
    except BaseException as e:
        status, error = "interrupted", f"{type(e).__name__} during the run"
        _write_manifest(run_dir, manifest(status, error, failed_step))
        raise
    finally:
        staging.remove()
    seconds = round(time.perf_counter() - started, 3)
    final = manifest(status, error, failed_step)
    _write_manifest(run_dir, final)
    if status == "passed":
        console.info(
            f"Run {run_id} passed in {seconds:.1f}s: {len(outputs)} output(s) in {run_dir}"
        )
    return RunResult(
        run_id=run_id,
        run_dir=run_dir,
        status=status,
        steps=results,
        outputs=outputs,
        seconds=seconds,
        error=error,
        failed_step=failed_step,
        manifest=final,
    )


def new_run_id() -> str:
    """Sortable and unique: ``20261124T101500-3f9a2c``."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# -- the sandbox as the runner sees it ---------------------------------------------------------


class _SandboxView:
    """What the runner needs of a sandbox: exec, where the project is, who writes files."""

    def __init__(self, sandboxes: Sandboxes, name: str, info: SandboxInfo) -> None:
        from sandboxer.sandbox.state import StateStore
        from sandboxer.sandbox.templates import Template

        self.sandboxes = sandboxes
        self.name = name
        self.info = info
        self.project_dir = sandboxes.project_dir
        state = StateStore(sandboxes.store.root).read(sandboxes.project, name) or {}
        spec = state.get("template_spec")
        self.template: Template | None = Template.model_validate(spec) if spec else None
        self.root = str(self.project_dir)
        """The project directory as the sandbox sees it."""
        self.owner: tuple[int, int] | None = None
        """``(uid, gid)`` that commands in the sandbox run as, when not this process's."""
        where = state.get("project_dir")
        if where and Path(where).resolve() != self.project_dir.resolve():
            raise PipelineError(
                f"Sandbox `{name}` belongs to the project in {where}",
                hint="Run the pipeline from that project, or create a sandbox for this one.",
            )
        if info.backend == "docker":
            ws = self.template.workspace if self.template else None
            if ws is None or not ws.mount_project:
                raise PipelineError(
                    f"Sandbox `{name}` does not mount the project directory",
                    hint="Pipelines run in the project directory: use a template with "
                    "`workspace.mount_project: true`.",
                )
            self.root = ws.workdir
            uid, _, gid = ws.user.partition(":")
            self.owner = (int(uid), int(gid or uid))

    def in_sandbox(self, host_path: Path) -> str:
        """A host path under the project directory, as the sandbox sees it."""
        rel = host_path.resolve().relative_to(self.project_dir.resolve()).as_posix()
        return str(PurePosixPath(self.root) / rel)

    def make_writable(self, path: Path) -> None:
        """Let the sandbox's user write into ``path`` (a directory this run created)."""
        if self.owner is None:
            return
        if os.geteuid() == 0:
            os.chown(path, *self.owner)
        elif os.geteuid() != self.owner[0]:
            path.chmod(0o777)

    def exec(self, argv: Sequence[str]) -> int:
        return int(self.sandboxes.exec(self.name, list(argv)))


class _Staging:
    """``<project>/.sandboxer-run/<id>/`` with ``logs/``, ``outputs/`` and ``work/``."""

    def __init__(self, sandbox: _SandboxView, name: str) -> None:
        self.sandbox = sandbox
        parent = sandbox.project_dir / STAGING_DIR
        parent.mkdir(exist_ok=True)
        ignore = parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# sandboxer run staging (removed after each run)\n*\n")
        self.host = parent / name
        self.host.mkdir()
        for path in (self.host, *(self.mkdir(d) for d in ("logs", "outputs", "work"))):
            sandbox.make_writable(path)
        self.root = sandbox.in_sandbox(self.host)

    def mkdir(self, rel: str) -> Path:
        path = self.host / rel
        path.mkdir(parents=True, exist_ok=True)
        self.sandbox.make_writable(path)
        return path

    def path(self, rel: str) -> str:
        """``rel`` under the staging directory, as the sandbox sees it."""
        return f"{self.root}/{rel}"

    def remove(self) -> None:
        shutil.rmtree(self.host, ignore_errors=True)
        with contextlib.suppress(OSError):
            parent = self.host.parent
            if not any(p for p in parent.iterdir() if p.name != ".gitignore"):
                shutil.rmtree(parent)

    def run(
        self,
        name: str,
        command: Sequence[str],
        console: Console,
        *,
        env: dict[str, str] | None = None,
        timeout: int | None = None,
    ) -> tuple[int, list[str]]:
        """Run ``command`` in the sandbox with its output in ``logs/<name>.log``, streamed to
        the console as it comes; ``(exit code, last lines)``."""
        log_host = self.host / "logs" / f"{name}.log"
        log_host.touch()
        if self.sandbox.owner is not None:
            if os.geteuid() == 0:
                os.chown(log_host, *self.sandbox.owner)
            else:
                log_host.chmod(0o666)
        variables = {"PYTHONUNBUFFERED": "1", "SANDBOXER_RUN_DIR": self.root, **(env or {})}
        prefix = ["env", *(f"{k}={v}" for k, v in variables.items())]
        if timeout:
            prefix += ["timeout", "--kill-after=10", str(timeout)]
        argv = [
            "sh",
            "-c",
            _WRAPPER,
            "sandboxer-step",
            self.path(f"logs/{name}.log"),
            *prefix,
            *command,
        ]
        tail = _Follow(log_host, lambda line: console.info(f"  | {line}"))
        tail.start()
        try:
            code = self.sandbox.exec(argv)
        finally:
            tail.finish()
        return code, list(tail.last)


class _Follow(threading.Thread):
    """Follow a growing log file; hand each complete line to ``emit``; keep the last ones."""

    def __init__(self, path: Path, emit: Callable[[str], None]) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.emit = emit
        self.last: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._done = threading.Event()
        self._offset = 0
        self._partial = b""

    def run(self) -> None:
        while not self._done.wait(0.1):
            self._read()

    def finish(self) -> None:
        self._done.set()
        self.join()
        self._read()
        if self._partial:
            self._line(self._partial)
            self._partial = b""

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self._line(line)

    def _line(self, raw: bytes) -> None:
        text = raw.decode(errors="replace").rstrip("\r")
        self.last.append(text)
        self.emit(text)


# -- steps ------------------------------------------------------------------------------------


def _run_step(
    planned: PlannedStep,
    result: StepResult,
    pipeline: Pipeline,
    staging: _Staging,
    sandbox: _SandboxView,
    engine: str,
    console: Console,
) -> None:
    step = planned.step
    deps = f" after {', '.join(planned.depends_on)}" if planned.depends_on else ""
    console.step(f"Step `{step.name}` ({step.kind}){deps}")
    env: dict[str, str] = {"SANDBOXER_STEP": step.name}
    if isinstance(step, SqlStep):
        command = _sql_command(planned, staging, engine)
    elif isinstance(step, PythonStep):
        command = ["python3", step.script, *step.args]
    elif isinstance(step, ShellStep):
        command = ["sh", "-c", step.run]
    elif isinstance(step, DbtStep):
        command, dbt_env = _dbt_command(step, staging, sandbox, engine)
        env.update(dbt_env)
    else:  # pragma: no cover - the config's union is exhaustive
        raise PipelineError(f"Unknown step kind {step.kind}")
    started = time.perf_counter()
    code, tail = staging.run(step.name, command, console, env=env, timeout=step.timeout)
    result.seconds = round(time.perf_counter() - started, 3)
    result.exit_code = code
    result.status = "passed" if code == 0 else "failed"
    if code != 0:
        result.tail = tail
    else:
        console.info(f"  `{step.name}` passed in {result.seconds:.1f}s")


def _sql_command(planned: PlannedStep, staging: _Staging, engine: str) -> list[str]:
    work = staging.mkdir(f"work/{planned.name}")
    if get_engine(engine).embedded:
        shutil.copy(SCRIPTS / "duckdb_sql.py", staging.host / "work" / "duckdb_sql.py")
        payload = {
            "files": [
                {
                    "path": f.path,
                    "statements": [{"line": s.line, "sql": s.sql} for s in f.statements],
                }
                for f in planned.sql_files
            ]
        }
        (work / "plan.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
        return [
            "python3",
            staging.path("work/duckdb_sql.py"),
            staging.path(f"work/{planned.name}/plan.json"),
        ]
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for i, f in enumerate(planned.sql_files):
        name = f"{i:03d}_{PurePosixPath(f.path).name}"
        text = "".join(f"-- {f.path}:{s.line}\n{s.sql};\n" for s in f.statements)
        (work / name).write_text(text, encoding="utf-8")
        command += ["-f", staging.path(f"work/{planned.name}/{name}")]
    return command


def _dbt_command(
    step: DbtStep, staging: _Staging, sandbox: _SandboxView, engine: str
) -> tuple[list[str], dict[str, str]]:
    """``dbt <command>`` with a generated profile for the sandbox's engine; targets and logs go
    to the staging directory (the project may not be writable by the sandbox's user)."""
    import yaml

    project_file = sandbox.project_dir / step.project / "dbt_project.yml"
    try:
        project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise PipelineError(f"Step `{step.name}`: {project_file} is not valid YAML: {e}") from None
    profile = str(project.get("profile") or "default")
    if get_engine(engine).embedded:
        output: dict[str, Any] = {
            "type": "duckdb",
            "path": "{{ env_var('SANDBOXER_DUCKDB') }}",
            "schema": "main",
            "threads": 1,
        }
    else:
        output = {
            "type": "postgres",
            "host": "{{ env_var('PGHOST') }}",
            "port": "{{ env_var('PGPORT', '5432') | as_number }}",
            "user": "{{ env_var('PGUSER') }}",
            "password": "{{ env_var('DBT_ENV_SECRET_SANDBOX_PASSWORD') }}",
            "dbname": "{{ env_var('PGDATABASE') }}",
            "schema": "public",
            "threads": 1,
        }
    profiles = staging.mkdir(f"work/{step.name}/profiles")
    (profiles / "profiles.yml").write_text(
        "# Generated by sandboxer for this run; points dbt at the sandbox's engine.\n"
        + yaml.safe_dump({profile: {"target": "sandbox", "outputs": {"sandbox": output}}}),
        encoding="utf-8",
    )
    for sub in ("target", "logs"):
        staging.mkdir(f"work/{step.name}/{sub}")
    env = {
        "DBT_PROJECT_DIR": f"{sandbox.root}/{step.project}",
        "DBT_PROFILES_DIR": staging.path(f"work/{step.name}/profiles"),
        "DBT_TARGET_PATH": staging.path(f"work/{step.name}/target"),
        "DBT_LOG_PATH": staging.path(f"work/{step.name}/logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DBT_PARTIAL_PARSE": "false",
    }
    # dbt's console script may not be on PATH (the process backend's venv reuses packages, not
    # scripts); its entry point is, and `-m dbt.cli.main` would warn about runpy.
    entry = "from dbt.cli.main import cli; cli(prog_name='dbt')"
    dbt = ["python3", "-c", entry, *shlex.split(step.command)]
    if get_engine(engine).password_file:
        # dbt reads the password from the environment only: export it from the secret file
        # for dbt's process alone (DBT_ENV_SECRET_* values are scrubbed from dbt's logs).
        reader = 'DBT_ENV_SECRET_SANDBOX_PASSWORD="$(cat "$SANDBOXER_PG_PASSWORD_FILE")" exec "$@"'
        dbt = ["sh", "-c", f"export {reader}", "dbt", *dbt]
    return dbt, env


# -- outputs ----------------------------------------------------------------------------------


def _file_stamps(
    pipeline: Pipeline, project_dir: Path, sandbox: _SandboxView
) -> dict[str, int | None]:
    """``mtime_ns`` of each file output before the run (None: absent); creates missing parent
    directories so that the sandbox's user can write them."""
    stamps: dict[str, int | None] = {}
    for name, out in pipeline.outputs.items():
        if out.file is None:
            continue
        path = project_dir / out.file
        missing = [p for p in reversed(path.parents) if not p.exists()]
        for directory in missing:
            directory.mkdir()
            sandbox.make_writable(directory)
        # The output's own directory must be writable by the sandbox's user even when an
        # earlier run (another backend, another user) created it: steps write a temporary
        # file there and rename it.
        if path.parent != project_dir and path.parent not in missing:
            sandbox.make_writable(path.parent)
            if path.exists():
                sandbox.make_writable(path)
        stamps[name] = path.stat().st_mtime_ns if path.exists() else None
    return stamps


def export_outputs(
    pipeline: Pipeline,
    staging: _Staging,
    sandbox: _SandboxView,
    engine: str,
    out_dir: Path,
    files_before: dict[str, int | None],
    console: Console,
) -> dict[str, OutputResult]:
    """Every declared output as ``out_dir/<name>.parquet``: tables through the engine, files
    written by the steps converted or copied. Raises ``PipelineError`` naming the output."""
    tables = {n: o for n, o in pipeline.outputs.items() if o.table is not None}
    if tables:
        console.step(f"Exporting {len(tables)} table output(s)")
        if get_engine(engine).embedded:
            _export_duckdb(tables, staging, console)
            for name in tables:
                shutil.move(
                    str(staging.host / "outputs" / f"{name}.parquet"), out_dir / f"{name}.parquet"
                )
        else:
            _export_postgres(tables, sandbox, out_dir)
    for name, out in pipeline.outputs.items():
        if out.file is not None:
            _export_file(name, out, sandbox.project_dir, out_dir, files_before.get(name))
    return {name: _describe(name, out, out_dir) for name, out in pipeline.outputs.items()}


def _export_duckdb(tables: dict[str, Output], staging: _Staging, console: Console) -> None:
    from sqlglot import exp

    shutil.copy(SCRIPTS / "duckdb_export.py", staging.host / "work" / "duckdb_export.py")
    plan = [
        {
            "name": name,
            "table": out.table,
            "select": exp.select("*").from_(_table(out.table or "")).sql("duckdb"),
            "path": staging.path(f"outputs/{name}.parquet"),
        }
        for name, out in tables.items()
    ]
    (staging.host / "work" / "export.json").write_text(json.dumps(plan), encoding="utf-8")
    code, tail = staging.run(
        "export",
        ["python3", staging.path("work/duckdb_export.py"), staging.path("work/export.json")],
        console,
    )
    if code != 0:
        raise PipelineError(
            "Exporting the outputs failed", hint="\n".join(tail[-5:]) or f"exit {code}"
        )


def _export_postgres(tables: dict[str, Output], sandbox: _SandboxView, out_dir: Path) -> None:
    """Read each table from the host through the sandbox's published port (ADBC: Arrow types
    as PostgreSQL declares them) and write Parquet."""
    from urllib.parse import quote

    import adbc_driver_postgresql.dbapi
    import pyarrow.parquet as pq

    connections = sandbox.info.connections
    url = connections.get("postgres")
    secret_file = connections.get("postgres_password_file")
    if not url:
        raise PipelineError(f"Sandbox `{sandbox.name}` reports no PostgreSQL connection")
    if secret_file:
        secret = Path(secret_file).read_text(encoding="utf-8").strip()
        user_end = url.index("@")
        url = f"{url[:user_end]}:{quote(secret, safe='')}{url[user_end:]}"
    from sqlglot import exp

    with adbc_driver_postgresql.dbapi.connect(url) as conn, conn.cursor() as cur:
        for name, out in tables.items():
            query = exp.select("*").from_(_table(out.table or "")).sql("postgres")
            try:
                cur.execute(query)
                table = cur.fetch_arrow_table()
            except Exception as e:  # the driver's errors have no common base worth naming
                raise PipelineError(
                    f"Output `{name}`: cannot read table {out.table} ({type(e).__name__})",
                    hint=str(e).splitlines()[0] if str(e) else None,
                ) from None
            pq.write_table(_plain_arrow(table, out.table or name), out_dir / f"{name}.parquet")


def _plain_arrow(table: Any, name: str) -> Any:
    """ADBC's PostgreSQL extension types (``numeric`` arrives as opaque text) as plain Arrow
    types, the way snapshots of PostgreSQL sources get them."""
    from sandboxer.sources.postgres import _to_arrow_types
    from sandboxer.sources.schema import Table, TableName

    schema, _, bare = name.rpartition(".")
    return _to_arrow_types(table, Table(name=TableName(bare, schema or None), columns=[]))


def _export_file(
    name: str, out: Output, project_dir: Path, out_dir: Path, before: int | None
) -> None:
    assert out.file is not None
    path = project_dir / out.file
    if not path.is_file():
        raise PipelineError(
            f"Output `{name}`: the steps did not write {out.file}",
            hint="File outputs are paths relative to the project that a step writes.",
        )
    if before is not None and path.stat().st_mtime_ns == before:
        raise PipelineError(
            f"Output `{name}`: {out.file} was not rewritten by this run (it is left from "
            "an earlier one)"
        )
    target = out_dir / f"{name}.parquet"
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        shutil.copyfile(path, target)
        return
    import duckdb

    con = duckdb.connect()
    try:
        rel = con.read_csv(str(path)) if suffix == ".csv" else con.read_json(str(path))
        rel.write_parquet(str(target))
    except duckdb.Error as e:
        raise PipelineError(f"Output `{name}`: cannot read {out.file}: {e}") from None
    finally:
        con.close()


def _describe(name: str, out: Output, out_dir: Path) -> OutputResult:
    import pyarrow.parquet as pq

    path = out_dir / f"{name}.parquet"
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    meta = pq.read_metadata(path)
    schema = meta.schema.to_arrow_schema()
    return OutputResult(
        name=name,
        path=f"outputs/{name}.parquet",
        rows=meta.num_rows,
        sha256=digest.hexdigest(),
        bytes=path.stat().st_size,
        columns=[{"name": f.name, "type": str(f.type)} for f in schema],
        table=out.table,
        file=out.file,
        key=list(out.key),
    )


def _table(name: str) -> Any:
    from sqlglot import exp

    parts = name.split(".")
    ids = [exp.to_identifier(p, quoted=True) for p in parts]
    return exp.Table(
        this=ids[-1],
        db=ids[-2] if len(ids) > 1 else None,
        catalog=ids[-3] if len(ids) > 2 else None,
    )


# -- manifest ---------------------------------------------------------------------------------


def git_state(project_dir: Path) -> dict[str, Any]:
    """``{"commit": sha|None, "dirty": bool|None}`` of the project directory's repository."""

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", "-C", str(project_dir), *args],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--", ".")
    return {"commit": commit.strip(), "dirty": bool(status.strip()) if status is not None else None}


def _manifest(
    *,
    run_id: str,
    status: str,
    error: str | None,
    failed_step: str | None,
    started_at: str,
    seconds: float,
    git: dict[str, Any],
    sandbox: _SandboxView,
    engine: str,
    pipeline: Pipeline,
    steps: list[StepResult],
    outputs: dict[str, OutputResult],
) -> RunManifest:
    info = sandbox.info
    return RunManifest(
        run_id=run_id,
        status=status,
        error=error,
        failed_step=failed_step,
        started_at=started_at,
        finished_at=_now(),
        seconds=seconds,
        project_dir=str(sandbox.project_dir),
        git=GitState.model_validate(git),
        sandbox=sandbox.name,
        snapshot_id=info.snapshot_id,
        dataset=info.dataset,
        template=info.template,
        backend=info.backend,
        engine=engine,
        dialect=pipeline.dialect,
        # Copies: the manifest records the steps as they are now (a run may go on).
        steps=[StepResult(**s.to_json()) for s in steps],
        outputs=dict(outputs),
    )


def _write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    from sandboxer.snapshot.store import write_text_atomic

    write_text_atomic(run_dir / RUN_MANIFEST, manifest.to_json())
