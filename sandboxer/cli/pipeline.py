"""Innovation Pipeline commands: ``run``, ``baseline``, ``compare`` and ``test`` (CI).

Exit codes of ``test`` and ``compare``: 0 pass; 1 tests failed or outputs differ beyond
tolerance; 2 usage or config error; 3 infrastructure error (engine, database, image).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from sandboxer.context import Context
from sandboxer.errors import ConfigError, SandboxerError
from sandboxer.sandbox import BACKEND_NAMES


def _context(ctx: click.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


@contextlib.contextmanager
def _config_is_usage() -> Iterator[None]:
    """In the CI commands a config error is a usage error (exit 2), not a failure (1)."""
    try:
        yield
    except ConfigError as e:
        e.exit_code = 2
        raise


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option(
        "--sandbox",
        "-s",
        metavar="NAME",
        help="Run in this sandbox (default: an ephemeral one, destroyed after).",
    )
    @click.option("--dataset", "-d", metavar="NAME|ID|latest")
    @click.option("--template", "-t", metavar="T")
    @click.option("--backend", type=click.Choice(["auto", *BACKEND_NAMES]))
    @click.pass_context
    def run(
        ctx: click.Context,
        sandbox: str | None,
        dataset: str | None,
        template: str | None,
        backend: str | None,
    ) -> None:
        """Run the pipeline's steps in a sandbox and export its outputs to a run directory."""
        context = _context(ctx)
        result = context.flow.run(sandbox, dataset=dataset, template=template, backend=backend)
        console = context.console
        console.table(
            f"Run {result.run_id}",
            ["step", "kind", "status", "seconds"],
            [[s.name, s.kind, s.status, getattr(s, "seconds", None)] for s in result.steps],
        )
        console.result(result.to_json())
        if not result.ok:
            raise SandboxerError(
                result.error or "The pipeline run failed", hint=f"Logs: {result.run_dir / 'logs'}"
            )
        console.info(f"Outputs: {result.run_dir / 'outputs'}. Next: `sandboxer compare`.")

    @cli.group()
    def baseline() -> None:
        """Baselines: the outputs a change is compared with."""

    @baseline.command("capture")
    @click.option(
        "--ref",
        metavar="GIT_REF",
        help="Run the pipeline as of this commit/branch (a git worktree).",
    )
    @click.option(
        "--from",
        "from_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Import outputs produced elsewhere (one <output>.parquet each).",
    )
    @click.option("--dataset", "-d", metavar="NAME|ID|latest")
    @click.option("--template", "-t", metavar="T")
    @click.option("--backend", type=click.Choice(["auto", *BACKEND_NAMES]))
    @click.pass_context
    def baseline_capture(
        ctx: click.Context,
        ref: str | None,
        from_dir: Path | None,
        dataset: str | None,
        template: str | None,
        backend: str | None,
    ) -> None:
        """Store a baseline keyed by snapshot id and commit."""
        context = _context(ctx)
        info = context.flow.capture_baseline(
            ref=ref, from_dir=from_dir, dataset=dataset, template=template, backend=backend
        )
        m = info.manifest
        context.console.info(
            f"Baseline {info.id}: snapshot {m.snapshot_id}, commit "
            f"{(m.commit or '-')[:12]}{' (dirty)' if m.dirty else ''}, "
            f"{len(m.outputs)} output(s), from {m.origin}"
        )
        context.console.result(m.to_dict())

    @baseline.command("list")
    @click.pass_context
    def baseline_list(ctx: click.Context) -> None:
        """List baselines, newest first."""
        context = _context(ctx)
        infos = context.flow.baselines.list()
        context.console.table(
            "Baselines",
            ["id", "snapshot", "commit", "outputs", "origin", "created"],
            [
                [
                    i.id,
                    i.manifest.snapshot_id,
                    (i.manifest.commit or "-")[:12],
                    len(i.manifest.outputs),
                    i.manifest.origin,
                    i.manifest.created_at,
                ]
                for i in infos
            ],
        )
        context.console.result({"baselines": [i.manifest.to_dict() for i in infos]})

    @baseline.command("show")
    @click.argument("ref")
    @click.pass_context
    def baseline_show(ctx: click.Context, ref: str) -> None:
        """Show a baseline and verify its checksums."""
        context = _context(ctx)
        info = context.flow.baselines.resolve(ref)
        problems = context.flow.baselines.verify(info)
        m = info.manifest
        context.console.info(
            f"Baseline {info.id} ({m.origin}), snapshot {m.snapshot_id}, commit {m.commit or '-'}"
        )
        context.console.table(
            "Outputs",
            ["output", "rows", "sha256"],
            [[k, v.rows, v.sha256[:12]] for k, v in sorted(m.outputs.items())],
        )
        context.console.result({**m.to_dict(), "problems": problems})
        if problems:
            raise SandboxerError(f"Baseline {info.id} failed verification: {problems[0]}")
        context.console.info("Checksums verified.")

    @cli.command()
    @click.option("--baseline", "-b", metavar="ID|REF", help="Default: newest for the snapshot.")
    @click.option(
        "--run",
        "run_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="A run directory (default: the latest run).",
    )
    @click.option(
        "--samples",
        type=int,
        default=0,
        show_default=True,
        help="Include up to N differing rows (values of the redacted snapshot).",
    )
    @click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path))
    @click.pass_context
    def compare(
        ctx: click.Context,
        baseline: str | None,
        run_dir: Path | None,
        samples: int,
        report_dir: Path | None,
    ) -> None:
        """Compare a run's outputs with a baseline (exit 1 beyond tolerance)."""
        from sandboxer.compare.reports import render_terminal, write_reports

        context = _context(ctx)
        with _config_is_usage():
            run_dir = run_dir or context.flow.latest_run()
            from sandboxer.pipeline.manifest import RUN_MANIFEST, RunManifest

            snap = RunManifest.load(run_dir / RUN_MANIFEST).snapshot_id
            result = context.flow.compare(
                run_dir, baseline=baseline, samples=samples, snapshot_id=snap
            )
        render_terminal(result, context.console)
        reports = write_reports(result, report_dir or run_dir / "reports")
        context.console.info("Reports: " + ", ".join(str(p) for p in reports.values()))
        context.console.result(result.to_json())
        if not result.passed:
            ctx.exit(1)

    @cli.command()
    @click.option(
        "--dataset",
        "-d",
        metavar="NAME|ID|latest",
        help="The snapshot (built when the dataset has none).",
    )
    @click.option("--baseline", "-b", metavar="ID|REF")
    @click.option("--template", "-t", metavar="T")
    @click.option("--backend", type=click.Choice(["auto", *BACKEND_NAMES]))
    @click.option(
        "--report-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where compare.{json,md,junit.xml,html} go (default: the run dir).",
    )
    @click.option("--samples", type=int, default=0, show_default=True)
    @click.pass_context
    def test(
        ctx: click.Context,
        dataset: str | None,
        baseline: str | None,
        template: str | None,
        backend: str | None,
        report_dir: Path | None,
        samples: int,
    ) -> None:
        """The CI entry point: sandbox -> run -> tests -> compare -> reports; the sandbox is
        always destroyed. Exit 0 pass, 1 failed, 2 usage/config, 3 infrastructure."""
        context = _context(ctx)
        with _config_is_usage():
            outcome = context.flow.test(
                dataset=dataset,
                baseline=baseline,
                template=template,
                backend=backend,
                report_dir=report_dir,
                samples=samples,
            )
        console = context.console
        for t in outcome.tests:
            mark = "ok  " if t["passed"] else "FAIL"
            extra = f" ({t['failing_rows']} failing rows)" if t.get("failing_rows") else ""
            console.info(f"  {mark} {t['name']}{extra}")
        if outcome.reports:
            console.info("Reports: " + ", ".join(outcome.reports.values()))
        console.result(outcome.to_json())
        if outcome.passed:
            console.info("sandboxer test: PASSED")
            return
        console.info("sandboxer test: FAILED: " + "; ".join(outcome.reasons))
        ctx.exit(1)
