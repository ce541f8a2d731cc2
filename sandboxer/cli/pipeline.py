"""Innovation Pipeline commands: ``run``, ``baseline``, ``compare`` and ``test`` (CI).

Exit codes of ``test`` and ``compare``: 0 pass; 1 tests failed or outputs differ beyond
tolerance; 2 usage or config error; 3 infrastructure error (engine, database, image).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from sandboxer.cli import options
from sandboxer.context import Context
from sandboxer.errors import ConfigError, SandboxerError


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
    @options.snapshot()
    @options.template
    @options.backend
    @options.pass_context
    def run(
        context: Context,
        sandbox: str | None,
        dataset: str | None,
        template: str | None,
        backend: str | None,
    ) -> None:
        """Run the pipeline's steps in a sandbox and export its outputs to a run directory."""
        result = context.flow.run(sandbox, dataset=dataset, template=template, backend=backend)
        context.console.show_run(result)
        context.console.result(result.to_json())
        if not result.ok:
            raise SandboxerError(
                result.error or "The pipeline run failed", hint=f"Logs: {result.run_dir / 'logs'}"
            )

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
    @options.snapshot()
    @options.template
    @options.backend
    @options.pass_context
    def baseline_capture(
        context: Context,
        ref: str | None,
        from_dir: Path | None,
        dataset: str | None,
        template: str | None,
        backend: str | None,
    ) -> None:
        """Store a baseline keyed by snapshot id and commit."""
        info = context.flow.capture_baseline(
            ref=ref, from_dir=from_dir, dataset=dataset, template=template, backend=backend
        )
        context.console.show_baseline_captured(info)
        context.console.result(info.manifest.to_dict())

    @baseline.command("list")
    @options.pass_context
    def baseline_list(context: Context) -> None:
        """List baselines, newest first."""
        infos = context.flow.baselines.list()
        context.console.show_baselines(infos)
        context.console.result({"baselines": [i.manifest.to_dict() for i in infos]})

    @baseline.command("show")
    @click.argument("ref")
    @options.pass_context
    def baseline_show(context: Context, ref: str) -> None:
        """Show a baseline and verify its checksums."""
        info = context.flow.baselines.resolve(ref)
        problems = context.flow.baselines.verify(info)
        context.console.show_baseline(info, problems)
        context.console.result({**info.manifest.to_dict(), "problems": problems})
        if problems:
            raise SandboxerError(f"Baseline {info.id} failed verification: {problems[0]}")

    @cli.command()
    @options.baseline
    @click.option(
        "--run",
        "run_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="A run directory (default: the latest run).",
    )
    @options.samples
    @options.report_dir
    @options.pass_context
    def compare(
        context: Context,
        baseline: str | None,
        run_dir: Path | None,
        samples: int,
        report_dir: Path | None,
    ) -> None:
        """Compare a run's outputs with a baseline (exit 1 beyond tolerance)."""
        # The terminal rendering of a comparison lives with its other formats (JSON, Markdown,
        # JUnit, HTML) in compare/reports.py, which the console layer cannot import.
        from sandboxer.compare.reports import render_terminal, write_reports

        with _config_is_usage():
            run_dir = run_dir or context.flow.latest_run()
            result = context.flow.compare(run_dir, baseline=baseline, samples=samples)
        render_terminal(result, context.console)
        reports = write_reports(result, report_dir or run_dir / "reports")
        context.console.show_reports(reports.values())
        context.console.result(result.to_json())
        if not result.passed:
            click.get_current_context().exit(1)

    @cli.command()
    @options.snapshot()
    @options.baseline
    @options.template
    @options.backend
    @options.report_dir
    @options.samples
    @options.pass_context
    def test(
        context: Context,
        dataset: str | None,
        baseline: str | None,
        template: str | None,
        backend: str | None,
        report_dir: Path | None,
        samples: int,
    ) -> None:
        """The CI entry point: sandbox -> run -> tests -> compare -> reports; the sandbox is
        always destroyed. Exit 0 pass, 1 failed, 2 usage/config, 3 infrastructure."""
        with _config_is_usage():
            outcome = context.flow.test(
                dataset=dataset,
                baseline=baseline,
                template=template,
                backend=backend,
                report_dir=report_dir,
                samples=samples,
            )
        context.console.show_test(outcome)
        context.console.result(outcome.to_json())
        if not outcome.passed:
            click.get_current_context().exit(1)
