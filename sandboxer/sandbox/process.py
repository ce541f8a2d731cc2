"""The process backend: a sandbox without a container engine. NOT isolated.

A sandbox is a directory ``<store>/sandboxes/<project>/<name>/`` holding a virtual environment
(``venv/``) and the DuckDB file (``data/sandbox.duckdb``). Commands run on the host, as the
current user, with the venv first on PATH and ``SANDBOXER_DUCKDB`` pointing at the data: nothing
stops them from reading or writing anything else the user can. For machines with no Docker.

The venv is made without pip (``python -m venv --without-pip``: ~0.1 s instead of several) and
a ``.pth`` file puts the current interpreter's site-packages after the venv's own. Template
packages that the current interpreter already satisfies are reused from there; only the others
are installed into the venv, by the current interpreter's pip (``pip --python``). So a template
asking for ``duckdb`` creates in a fraction of a second where sandboxer itself is installed,
and a package installed in the sandbox never changes sandboxer's own environment.
"""

from __future__ import annotations

import builtins
import datetime as dt
import os
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError, did_you_mean
from sandboxer.sandbox.base import SandboxBackend, SandboxInfo, SandboxSpec
from sandboxer.sandbox.engines import DuckDBEngine, get_engine
from sandboxer.sandbox.state import (
    PROCESS_MARKER,
    StateStore,
    check_report,
    report_dict,
    strip_format,
    validate_name,
)

if TYPE_CHECKING:
    from sandboxer.sandbox.templates import Template
    from sandboxer.snapshot.store import SnapshotInfo

ENGINE = DuckDBEngine()
"""The one data engine a process sandbox holds: a DuckDB file in its directory."""
DB_FILE = "sandbox.duckdb"
LOG_FILE = "sandbox.log"
PARENT_PTH = "_sandboxer_parent.pth"
NOT_ISOLATED = "not isolated: commands run on this machine as you, with the sandbox's venv and data"


class ProcessBackend(SandboxBackend):
    """Sandboxes as a directory with a venv and a DuckDB file (no engine, not isolated).

    Options: ``store_root`` (the snapshot store root), ``inherit_packages`` (reuse the current
    interpreter's packages, default True), ``ca_bundle`` (for pip; default
    ``$SANDBOXER_CA_BUNDLE``).
    """

    name = "process"
    isolated = False

    def __init__(self, console: Any = None, **options: Any) -> None:
        super().__init__(console, **options)
        self.states = StateStore(Path(options.get("store_root", ".sandboxer")))
        self.inherit_packages = bool(options.get("inherit_packages", True))

    # -- create ---------------------------------------------------------------------------

    def create(self, spec: SandboxSpec) -> SandboxInfo:
        name = validate_name(spec.name)
        _check_supported(spec.template)
        started = time.perf_counter()
        with self.states.create_lock(spec.project, name):
            existing = self.states.read(spec.project, name)
            directory = self.states.sandbox_dir(spec.project, name)
            if existing is not None or directory.exists():
                if not spec.replace:
                    what = "exists" if existing else "has leftovers of an interrupted create"
                    raise SandboxerError(
                        f"Sandbox `{name}` already {what}",
                        hint=f"Pick another name, replace it with `sandboxer create {name} "
                        f"--replace`, or remove it with `sandboxer destroy {name}`.",
                    )
                if existing is not None and existing.get("backend") != self.name:
                    raise SandboxerError(
                        f"Sandbox `{name}` belongs to the {existing.get('backend')} backend",
                        hint=f"Destroy it with `sandboxer destroy {name} --backend "
                        f"{existing.get('backend')}` first, or pick another name.",
                    )
                self.console.step(f"Replacing sandbox `{name}`")
                self.states.delete(spec.project, name)
            try:
                return self._create(spec, directory, started)
            except BaseException:
                self.console.warn(f"Create of `{name}` failed; removing its directory")
                self.states.delete(spec.project, name)
                raise

    def _create(self, spec: SandboxSpec, directory: Path, started: float) -> SandboxInfo:
        t = spec.template
        directory.mkdir(parents=True, mode=0o700)
        (directory / PROCESS_MARKER).write_text("process sandbox\n", encoding="utf-8")
        self.console.warn(f"Sandbox `{spec.name}` is {NOT_ISOLATED}")
        timings: dict[str, float] = {}
        mark = time.perf_counter()

        self.console.step("Virtual environment")
        reused, installed = self._make_venv(directory / "venv", t)
        timings["venv"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()

        self.console.step(f"Loading snapshot {spec.snapshot.id} into DuckDB")
        (directory / "data").mkdir()
        report = self._load(spec.snapshot, directory / "data" / DB_FILE)
        timings["load"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()

        created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        state = {
            **spec.state(self.name, ENGINE.name, created_at),
            "connections": {ENGINE.name: str(directory / "data" / DB_FILE)},
            "resources": {
                "dir": str(directory),
                "venv": str(directory / "venv"),
                "packages_reused": reused,
                "packages_installed": installed,
            },
            "load": report,
            "stopped": False,
        }
        for line in t.hooks.on_create:
            self._hook(state, "on_create", line)
        for line in t.hooks.post_start:
            self._hook(state, "post_start", line)
        timings["hooks"] = round(time.perf_counter() - mark, 3)
        timings["total"] = round(time.perf_counter() - started, 3)
        state["timings"] = timings
        self.states.write(spec.project, spec.name, state)
        return self._info(state)

    def _make_venv(self, venv: Path, t: Template) -> tuple[list[str], list[str]]:
        """Create the venv; return (requirements reused from this interpreter, installed)."""
        result = subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SandboxerError(
                f"Could not create a virtual environment in {venv}",
                hint=_tail(result.stderr) + "\nOn Debian: `apt-get install python3-venv`.",
            )
        site_dir = _site_packages(venv)
        wanted = list(t.image.python_packages)
        reused: list[str] = []
        if self.inherit_packages:
            parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
            (site_dir / PARENT_PTH).write_text("\n".join(parents) + "\n", encoding="utf-8")
            reused = [r for r in wanted if _satisfied(r)]
        missing = [r for r in wanted if r not in reused]
        if missing:
            self.console.step(f"pip install {' '.join(missing)}")
            env = dict(os.environ)
            ca = (
                self.options.get("ca_bundle") or t.image.ca_bundle or env.get("SANDBOXER_CA_BUNDLE")
            )
            if ca:
                env.setdefault("PIP_CERT", str(ca))
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "--python",
                    str(venv / "bin" / "python"),
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    *missing,
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if result.returncode != 0:
                raise SandboxerError(
                    f"pip could not install {', '.join(missing)} into the sandbox venv",
                    hint=_tail(result.stderr or result.stdout),
                )
        if reused:
            self.console.info(
                f"Reusing {', '.join(reused)} from the current interpreter ({sys.prefix}); "
                "other packages are installed into the sandbox's own venv"
            )
        return reused, missing

    def _load(self, snapshot: SnapshotInfo, db_path: Path) -> dict[str, Any]:
        report = report_dict(ENGINE.load(snapshot, str(db_path)))
        check_report(report)
        return report

    def _env(self, state: dict[str, Any]) -> dict[str, str]:
        from sandboxer.sandbox.templates import Template

        t = Template.model_validate(state["template_spec"])
        directory = Path(state["resources"]["dir"])
        venv = Path(state["resources"]["venv"])
        project_dir = state["project_dir"]
        env = dict(os.environ)
        # Template env is written for the container: map its paths onto this directory.
        for key, value in t.env.items():
            if value == t.workspace.workdir or value.startswith(t.workspace.workdir + "/"):
                value = project_dir + value[len(t.workspace.workdir) :]
            elif value.startswith("/data/"):
                value = str(directory / "data" / value[len("/data/") :])
            env[key] = value
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["SANDBOXER_DUCKDB"] = state["connections"][ENGINE.name]
        env["SANDBOXER_SANDBOX"] = state["name"]
        return env

    def _hook(self, state: dict[str, Any], kind: str, line: str) -> None:
        self.console.step(f"{kind}: {line}")
        log = Path(state["resources"]["dir"]) / LOG_FILE
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"$ {line}\n")
            f.flush()
            result = subprocess.run(
                ["sh", "-c", line],
                cwd=state["project_dir"],
                env=self._env(state),
                stdout=f,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise SandboxerError(
                f"The {kind} hook `{line}` failed (exit {result.returncode})",
                hint=f"Its output is in {log}.",
            )

    # -- lifecycle -------------------------------------------------------------------------

    def list(self, project: str | None = None) -> builtins.list[SandboxInfo]:
        infos = [self._info(s) for s in self.states.list(project) if s.get("backend") == self.name]
        for proj, name, path in self.states.orphan_dirs():
            if (project is None or proj == project) and (path / PROCESS_MARKER).exists():
                running = self.states.create_running(proj, name)
                infos.append(
                    SandboxInfo(
                        name=name,
                        backend=self.name,
                        state="creating" if running else "partial",
                        isolated=False,
                        resources={"project": proj, "dir": str(path)},
                    )
                )
        return sorted(infos, key=lambda i: (str(i.resources.get("project")), i.name))

    def status(self, name: str, project: str) -> SandboxInfo:
        return self._info(self._state(name, project))

    def exec(
        self, name: str, project: str, command: Sequence[str], *, interactive: bool = False
    ) -> int:
        state = self._state(name, project)
        if state.get("stopped"):
            raise SandboxerError(
                f"Sandbox `{name}` is stopped", hint=f"Start it with `sandboxer start {name}`."
            )
        # Same process group and terminal as sandboxer: a TTY shell works as is.
        return subprocess.call(list(command), cwd=state["project_dir"], env=self._env(state))

    def logs(self, name: str, project: str, *, follow: bool = False) -> None:
        state = self._state(name, project)
        log = Path(state["resources"]["dir"]) / LOG_FILE
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        self.console.info(text.rstrip() or "(no hook output)")

    def stop(self, name: str, project: str) -> None:
        state = self._state(name, project)
        state["stopped"] = True
        self.states.write(project, name, strip_format(state))

    def start(self, name: str, project: str) -> SandboxInfo:
        from sandboxer.sandbox.templates import Template

        state = self._state(name, project)
        state["stopped"] = False
        for line in Template.model_validate(state["template_spec"]).hooks.post_start:
            self._hook(state, "post_start", line)
        self.states.write(project, name, strip_format(state))
        return self._info(state)

    def reset(self, name: str, project: str, snapshot: SnapshotInfo) -> SandboxInfo:
        state = self._state(name, project)
        db = Path(state["connections"][ENGINE.name])
        fresh = db.with_name(f"{db.name}.reset")
        for leftover in (fresh, fresh.with_name(f"{fresh.name}.wal")):
            leftover.unlink(missing_ok=True)
        self.console.step(f"Reloading snapshot {snapshot.id} into DuckDB")
        try:
            report = self._load(snapshot, fresh)
        except BaseException:
            fresh.unlink(missing_ok=True)
            raise
        # Load beside, then rename over: the old data stays whole until the new one is verified.
        db.with_name(f"{db.name}.wal").unlink(missing_ok=True)
        os.replace(fresh, db)
        state.update(snapshot_id=snapshot.id, dataset=snapshot.dataset, load=report)
        self.states.write(project, name, strip_format(state))
        return self._info(state)

    def destroy(self, name: str, project: str) -> None:
        validate_name(name)
        state = self.states.read(project, name)
        directory = self.states.sandbox_dir(project, name)
        if state is not None and state.get("backend") != self.name:
            raise SandboxerError(
                f"Sandbox `{name}` belongs to the {state.get('backend')} backend",
                hint=f"Use `--backend {state.get('backend')}`.",
            )
        if state is None and not (directory / PROCESS_MARKER).exists():
            raise self._not_found(name, project)
        self.states.delete(project, name)

    def gc(self, *, ttl_seconds: int | None = None) -> builtins.list[str]:
        removed: builtins.list[str] = []
        now = dt.datetime.now(dt.UTC)
        for state in self.states.list():
            if state.get("backend") != self.name:
                continue
            project, name = state["project"], state["name"]
            directory = Path(state["resources"]["dir"])
            ttl = ttl_seconds or state.get("ttl_seconds")
            age = (now - dt.datetime.fromisoformat(state["created_at"])).total_seconds()
            gone = not Path(state["connections"][ENGINE.name]).exists() or not directory.is_dir()
            if gone or (ttl and age > ttl):
                self.states.delete(project, name)
                removed.append(f"{project}/{name}")
        for project, name, path in self.states.orphan_dirs():
            if (path / PROCESS_MARKER).exists() and not self.states.create_running(project, name):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(f"{project}/{name}")
        return removed

    # -- helpers ---------------------------------------------------------------------------

    def _state(self, name: str, project: str) -> dict[str, Any]:
        validate_name(name)
        state = self.states.read(project, name)
        if state is None:
            raise self._not_found(name, project)
        if state.get("backend") != self.name:
            raise SandboxerError(
                f"Sandbox `{name}` belongs to the {state.get('backend')} backend",
                hint=f"Use `--backend {state.get('backend')}`.",
            )
        return state

    def _not_found(self, name: str, project: str) -> SandboxerError:
        names = [s["name"] for s in self.states.list(project) if s.get("backend") == self.name]
        return SandboxerError(
            f"No sandbox `{name}` in this project",
            hint=did_you_mean(name, names) or "List them with `sandboxer list`.",
        )

    def _info(self, state: dict[str, Any]) -> SandboxInfo:
        directory = Path(state["resources"]["dir"])
        ok = directory.is_dir() and Path(state["connections"][ENGINE.name]).exists()
        status = ("stopped" if state.get("stopped") else "ready") if ok else "failed"
        return SandboxInfo.from_state(
            state,
            backend=self.name,
            status=status,
            isolated=False,
            enter=f"sandboxer shell {state['name']}  ({NOT_ISOLATED})",
        )


def _check_supported(t: Template) -> None:
    if t.data.engine != ENGINE.name:
        what = f"a {get_engine(t.data.engine).label} data engine"
    elif t.services:
        what = "services"
    else:
        return
    raise SandboxerError(
        f"Template `{t.name}` needs {what}, which the process backend cannot run",
        hint="Use the docker backend (`--backend docker`, needs a Docker engine), or a "
        "DuckDB template such as `python-duckdb`.",
    )


def _site_packages(venv: Path) -> Path:
    found = sorted((venv / "lib").glob("python*/site-packages"))
    if not found:
        raise SandboxerError(f"The virtual environment {venv} has no site-packages directory")
    return found[0]


def _satisfied(requirement: str) -> bool:
    """Whether the current interpreter has a distribution satisfying ``requirement``."""
    from importlib import metadata

    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # pip vendors it; without either, install everything
        return False
    try:
        req = Requirement(requirement)
        version = metadata.version(req.name)
    except (InvalidRequirement, metadata.PackageNotFoundError):
        return False
    if req.extras:
        return False  # extras pull in more distributions: let pip decide
    return req.specifier.contains(version, prereleases=True)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "no output"
