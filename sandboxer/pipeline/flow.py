"""The Innovation Pipeline as one flow: dataset -> sandbox -> run -> tests -> compare.

``sandboxer test`` (the CI entry point) resolves the dataset (or builds it), creates an
ephemeral sandbox, runs the pipeline, runs the data and code tests, compares the outputs with
the baseline, writes the reports, and always destroys the sandbox, on failure and on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import ConfigError, InfrastructureError, SandboxerError
from sandboxer.pipeline.manifest import RUN_MANIFEST, RunManifest
from sandboxer.sandbox.engines import engine_from_connections
from sandboxer.snapshot.baselines import BaselineInfo, BaselineStore

if TYPE_CHECKING:
    from sandboxer.config.pipeline import Pipeline
    from sandboxer.console import Console
    from sandboxer.pipeline.runner import RunResult
    from sandboxer.sandbox.manager import Sandboxes
    from sandboxer.snapshot.store import LocalStore


@dataclass
class TestOutcome:
    passed: bool
    run: dict[str, Any]
    tests: list[dict[str, Any]] = field(default_factory=list)
    compare: dict[str, Any] | None = None
    reports: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What deserves attention without failing the test (a baseline of another key)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "run": self.run,
            "tests": self.tests,
            "compare": self.compare,
            "reports": self.reports,
        }


class Flow:
    def __init__(
        self,
        *,
        project_dir: Path,
        config_path: Path,
        pipeline: Pipeline,
        store: LocalStore,
        sandboxes: Sandboxes,
        console: Console,
        flow_for_config: Callable[[Path], Flow],
    ) -> None:
        """``flow_for_config`` gives the flow of another checkout of the project (a git
        worktree, for ``baseline capture --ref``) that shares this store."""
        self.project_dir = project_dir
        self.config_path = config_path
        self.pipeline = pipeline
        self.store = store
        self.sandboxes = sandboxes
        self.console = console
        self._flow_for_config = flow_for_config

    @property
    def runs_root(self) -> Path:
        return self.store.layout.runs

    @property
    def baselines(self) -> BaselineStore:
        return BaselineStore(self.store)

    # -- sandboxes -----------------------------------------------------------------------
    @contextlib.contextmanager
    def ephemeral_sandbox(
        self,
        *,
        dataset: str | None,
        template: str | None,
        backend: str | None,
        prefix: str = "test",
    ) -> Iterator[str]:
        """A sandbox that exists for the duration of the block, destroyed on any exit."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        try:
            try:
                self.sandboxes.create(name, template=template, dataset=dataset, backend=backend)
            except ConfigError:
                raise
            except SandboxerError as e:
                raise InfrastructureError(
                    f"Could not create sandbox `{name}`: {e.message}", hint=e.hint
                ) from e
            yield name
        finally:
            with contextlib.suppress(SandboxerError):
                self.sandboxes.destroy(name)

    def engine_of(self, sandbox: str) -> str:
        info = self.sandboxes.status(sandbox)
        return engine_from_connections(info.connections).name

    # -- run -----------------------------------------------------------------------------
    def run(
        self,
        sandbox: str | None = None,
        *,
        dataset: str | None = None,
        template: str | None = None,
        backend: str | None = None,
    ) -> RunResult:
        """Run the pipeline in ``sandbox`` (or in an ephemeral one)."""
        from sandboxer.pipeline.runner import new_run_id

        self._require_steps()
        run_id = new_run_id()
        run_dir = self.runs_root / run_id
        if sandbox is not None:
            return self._run_in(sandbox, run_dir)
        with self.ephemeral_sandbox(
            dataset=dataset, template=template, backend=backend, prefix="run"
        ) as name:
            return self._run_in(name, run_dir)

    def _require_steps(self) -> None:
        if not self.pipeline.steps:
            raise ConfigError(
                "No pipeline steps configured",
                hint="Add `pipeline: {steps: [...]}` to sandboxer.yaml.",
            )

    def _run_in(self, sandbox: str, run_dir: Path) -> RunResult:
        """Run the project's pipeline in ``sandbox``, its outputs to ``run_dir`` (the run id
        is the directory's name)."""
        from sandboxer.pipeline.runner import run_pipeline

        return run_pipeline(
            self.sandboxes,
            sandbox,
            pipeline=self.pipeline,
            project_dir=self.project_dir,
            engine=self.engine_of(sandbox),
            run_dir=run_dir,
            console=self.console,
            run_id=run_dir.name,
        )

    # -- baselines -----------------------------------------------------------------------
    def capture_baseline(
        self,
        *,
        ref: str | None = None,
        from_dir: Path | None = None,
        dataset: str | None = None,
        template: str | None = None,
        backend: str | None = None,
    ) -> BaselineInfo:
        """Run the pipeline as of git ``ref`` (a worktree) on the same snapshot and store its
        outputs; or import outputs produced elsewhere (``from_dir``)."""
        snapshot = self.sandboxes.snapshot(dataset)
        if from_dir is not None:
            if ref is not None:
                raise SandboxerError(
                    "--ref and --from cannot be used together",
                    hint="Capture from a git ref, or import a directory.",
                )
            return self.baselines.publish(
                from_dir,
                snapshot_id=snapshot.id,
                commit=None,
                dirty=None,
                origin=f"imported from {from_dir}",
            )
        if ref is None:
            result = self.run(dataset=snapshot.id, template=template, backend=backend)
            return self._publish_run(result, snapshot.id, origin="working tree")
        with self.worktree(ref) as worktree_config:
            other = self._flow_for_config(worktree_config)
            result = other.run(dataset=snapshot.id, template=template, backend=backend)
        return self._publish_run(result, snapshot.id, origin=f"git ref {ref}")

    def _publish_run(self, result: RunResult, snapshot_id: str, origin: str) -> BaselineInfo:
        if not result.ok:
            raise SandboxerError(
                f"The pipeline run {result.run_id} failed ({result.error}); no baseline stored",
                hint=f"Logs: {result.run_dir / 'logs'}",
            )
        git = result.manifest.git
        return self.baselines.publish(
            result.run_dir / "outputs",
            snapshot_id=snapshot_id,
            commit=git.commit,
            dirty=git.dirty,
            origin=origin,
            run={"run_id": result.run_id},
        )

    @contextlib.contextmanager
    def worktree(self, ref: str) -> Iterator[Path]:
        """A temporary git worktree of the project at ``ref``; yields its config path."""
        project = self.project_dir
        top = _git(project, "rev-parse", "--show-toplevel")
        if top is None:
            raise SandboxerError(
                f"{project} is not in a git repository",
                hint="Use `--from DIR` to import outputs instead.",
            )
        commit = _git(project, "rev-parse", "--verify", f"{ref}^{{commit}}")
        if commit is None:
            raise SandboxerError(
                f"Unknown git ref `{ref}`", hint="Use a branch, tag or commit, e.g. `--ref main`."
            )
        tmp = Path(tempfile.mkdtemp(prefix="sandboxer-baseline-"))
        tree = tmp / "tree"
        try:
            if _git(Path(top), "worktree", "add", "--detach", str(tree), commit) is None:
                raise InfrastructureError(f"git worktree add failed for `{ref}`")
            rel = self.config_path.resolve().relative_to(Path(top).resolve())
            config = tree / rel
            if not config.exists():
                raise ConfigError(
                    f"{rel} does not exist at `{ref}`",
                    hint="Capture from a ref that has the pipeline config.",
                )
            yield config
        finally:
            _git(Path(top), "worktree", "remove", "--force", str(tree))
            shutil.rmtree(tmp, ignore_errors=True)

    # -- compare -------------------------------------------------------------------------
    def compare(
        self,
        run_dir: Path,
        *,
        baseline: str | None = None,
        samples: int = 0,
        snapshot_id: str | None = None,
    ) -> Any:
        """Compare the outputs of the run in ``run_dir`` with ``baseline`` (default: the newest
        for ``snapshot_id``, itself by default the snapshot the run used). Warns when the
        baseline was captured on a snapshot redacted with another key."""
        return self._compare(run_dir, baseline=baseline, samples=samples, snapshot_id=snapshot_id)[
            0
        ]

    def _compare(
        self,
        run_dir: Path,
        *,
        baseline: str | None,
        samples: int,
        snapshot_id: str | None,
    ) -> tuple[Any, str | None]:
        """The comparison, and the key-drift warning it printed (None when there is none)."""
        from sandboxer.compare import compare_outputs

        if snapshot_id is None:
            snapshot_id = RunManifest.load(run_dir / RUN_MANIFEST).snapshot_id
        pipeline = self.pipeline
        base = self.baselines.resolve(baseline, snapshot_id=snapshot_id)
        problems = self.baselines.verify(base)
        if problems:
            raise SandboxerError(
                f"Baseline {base.id} is corrupt: {problems[0]}", hint="Capture it again."
            )
        drift = self.key_drift(base, snapshot_id)
        if drift:
            self.console.warn(drift)
        outputs = {
            name: (list(out.key) if out.key else None, out.compare)
            for name, out in pipeline.outputs.items()
        }
        compared = compare_outputs(
            base.outputs_dir,
            run_dir / "outputs",
            outputs,
            samples=samples,
            baseline_id=base.id,
            run_id=run_dir.name,
        )
        return compared, drift

    def key_drift(self, base: BaselineInfo, snapshot_id: str | None) -> str | None:
        """Why ``base`` may not match runs on ``snapshot_id``: it was captured on a snapshot
        redacted with another key (or none), so every keyed output differs. None when the keys
        agree, or when there is no way to tell."""
        from sandboxer.redact.secret_key import snapshot_fingerprint

        captured_on = base.manifest.snapshot_id
        if not snapshot_id or not captured_on or captured_on == snapshot_id:
            return None
        tested = self._stored_snapshot(snapshot_id)
        if tested is None:
            return None
        tested_fp = snapshot_fingerprint(tested.manifest)
        now = f"key {tested_fp}" if tested_fp else "no redaction"
        captured = self._stored_snapshot(captured_on)
        consequence = (
            "Pseudonyms differ between keys, so outputs that carry keyed values (ids, names, "
            "hashes) drift from the baseline. Recapture it on this snapshot: "
            "sandboxer baseline capture --ref main"
        )
        if captured is None:
            if tested_fp is None:
                return None
            return (
                f"baseline {base.id} was captured on snapshot {captured_on}, which is no longer "
                f"in the store: its redaction key cannot be checked against {now} of snapshot "
                f"{snapshot_id}. If the key changed since, it will not match. {consequence}"
            )
        captured_fp = snapshot_fingerprint(captured.manifest)
        if captured_fp == tested_fp:
            return None
        then = f"key {captured_fp}" if captured_fp else "no redaction"
        return (
            f"baseline {base.id} was captured on snapshot {captured_on} ({then}), and snapshot "
            f"{snapshot_id} has {now}. {consequence}"
        )

    def _stored_snapshot(self, snapshot_id: str) -> Any:
        """The snapshot if the store still has it, else None."""
        try:
            return self.store.resolve(snapshot_id)
        except SandboxerError:
            return None

    def latest_run(self) -> Path:
        runs = sorted(
            (p for p in self.runs_root.glob("*") if (p / RUN_MANIFEST).exists()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        if not runs:
            raise SandboxerError("No pipeline runs yet", hint="Run `sandboxer run` first.")
        return runs[0]

    # -- test ----------------------------------------------------------------------------
    def test(
        self,
        *,
        dataset: str | None = None,
        baseline: str | None = None,
        template: str | None = None,
        backend: str | None = None,
        report_dir: Path | None = None,
        samples: int = 0,
    ) -> TestOutcome:
        from sandboxer.compare.reports import render_terminal, write_reports
        from sandboxer.pipeline.datatests import run_code_tests, run_data_tests
        from sandboxer.pipeline.runner import new_run_id

        console = self.console
        pipeline = self.pipeline
        self._require_steps()
        try:
            snapshot = self.sandboxes.snapshot(dataset)
        except ConfigError:
            raise
        except SandboxerError as e:
            raise InfrastructureError(
                f"Could not resolve the dataset: {e.message}", hint=e.hint
            ) from e
        run_id = new_run_id()
        run_dir = self.runs_root / run_id
        reasons: list[str] = []
        tests: list[dict[str, Any]] = []
        with self.ephemeral_sandbox(
            dataset=snapshot.id, template=template, backend=backend
        ) as name:
            result = self._run_in(name, run_dir)
            if result.ok and pipeline.code_tests:
                code = run_code_tests(self.sandboxes, name, pipeline.code_tests)
                tests.append(_test_json(code))
        if not result.ok:
            reasons.append(result.error or "the pipeline run failed")
            return TestOutcome(False, result.to_json(), tests, None, {}, reasons)
        tests += [_test_json(t) for t in run_data_tests(pipeline, run_dir / "outputs")]
        failed_tests = [t for t in tests if not t["passed"]]
        for t in failed_tests:
            reasons.append(
                f"test {t['name']} failed"
                + (f" ({t['failing_rows']} rows)" if t.get("failing_rows") else "")
            )
        compared, drift = self._compare(
            run_dir, baseline=baseline, samples=samples, snapshot_id=snapshot.id
        )
        render_terminal(compared, console)
        reports = write_reports(compared, report_dir or run_dir / "reports")
        if not compared.passed:
            reasons.append("outputs differ from the baseline beyond tolerance")
        return TestOutcome(
            not reasons,
            result.to_json(),
            tests,
            compared.to_json(),
            {k: str(v) for k, v in reports.items()},
            reasons,
            [drift] if drift else [],
        )


def _test_json(test: Any) -> dict[str, Any]:
    data: dict[str, Any] = test.to_json() if hasattr(test, "to_json") else dict(test.__dict__)
    data["passed"] = data.get("status") == "passed"
    return data


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
