"""``sandboxer`` commands. Logic lives in Context; these callbacks parse, call and print.

Errors become output here and only here: ``Error: ...`` and exit 1 (usage: 2), with the
traceback only under ``--debug``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sandboxer import __version__
from sandboxer.cli import options
from sandboxer.console import TerminalConsole
from sandboxer.context import DEFAULT_CONFIG, Context
from sandboxer.errors import SandboxerError


class SandboxerGroup(click.Group):
    """Turns every error into ``Error: ...`` with an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except SandboxerError as e:
            if debug:
                raise
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("Interrupted: nothing half-done was published.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:
            if debug:
                raise
            # The message of an unexpected error may quote data, so only its type is shown.
            click.echo(
                f"Error: unexpected {type(e).__name__} (a bug in sandboxer). "
                "Run again with --debug for the traceback, and report it.",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=SandboxerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    envvar="SANDBOXER_CONFIG",
    help="Project config file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show more detail.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "--json", "json_output", is_flag=True, help="Print one machine-readable JSON result on stdout."
)
@click.version_option(__version__, prog_name="sandboxer")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path, verbose: bool, debug: bool, json_output: bool
) -> None:
    """sandboxer: PII-safe test datasets and DataOps sandboxes.

    \b
    Start with:
      sandboxer init --source URL     write sandboxer.yaml from a scanned schema
      sandboxer data scan             show the schema graph
      sandboxer data build            build a versioned snapshot
    """
    console = TerminalConsole(verbose=verbose, json_output=json_output)
    ctx.obj = Context(config_path, console)


@cli.command()
@click.option(
    "--source",
    "source_url",
    metavar="URL",
    help="Scan this source to fill the config (tables, keys, a suggested root).",
)
@click.option("--dataset", "dataset_name", metavar="NAME", help="Dataset name to use.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@options.pass_context
def init(context: Context, source_url: str | None, dataset_name: str | None, force: bool) -> None:
    """Write a starter sandboxer.yaml."""
    path = context.init(source_url, dataset_name=dataset_name, force=force)
    context.console.info(f"Wrote {path}. Review the roots, then run `sandboxer data build`.")
    context.console.result({"config": str(path)})


@cli.group()
def data() -> None:
    """Test datasets: scan sources, build, list, verify and remove snapshots."""


@data.command()
@click.argument("source_url", required=False, metavar="[SOURCE]")
@options.dataset_name("Use this dataset's source, virtual keys and roots.")
@click.option("--pii", is_flag=True, help="Detect personal data in every column (on a sample).")
@click.option(
    "--write-policy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --pii: write a redaction policy file for review.",
)
@options.pass_context
def scan(
    context: Context,
    source_url: str | None,
    dataset_name: str | None,
    pii: bool,
    write_policy: Path | None,
) -> None:
    """Print the schema graph: tables, row counts, keys, foreign keys, cycles, reachability.

    SOURCE is a URL or directory; without it, the configured dataset's source is scanned.
    With --pii: per column, the detected kind of personal data, confidence, evidence (counts,
    never values) and the suggested strategy.
    """
    if write_policy is not None and not pii:
        raise click.UsageError("--write-policy needs --pii")
    if pii:
        result = context.scan_pii(source_url, dataset_name, write_policy=write_policy)
        context.console.show_pii_scan(result)
        context.console.result(result)
        return
    report = context.scan(source_url, dataset_name)
    context.console.show_schema_scan(report)
    context.console.result(report)


@data.command()
@click.argument("target", required=False, metavar="[SOURCE|SNAPSHOT]")
@options.dataset_name("Use this dataset's source.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the profile (JSON) here.",
)
@click.option(
    "--sample-rows",
    type=click.IntRange(1000),
    default=1_000_000,
    show_default=True,
    help="Profile larger tables on a deterministic sample of this many rows.",
)
@options.pass_context
def profile(
    context: Context,
    target: str | None,
    dataset_name: str | None,
    output: Path | None,
    sample_rows: int,
) -> None:
    """A privacy-safe profile of a source or snapshot: types, null rates, distributions,
    categories (non-personal, low-cardinality only), patterns, FK fan-out. Never a value of
    a personal column."""
    result = context.profile(target, dataset_name, output=output, sample_rows=sample_rows)
    context.console.show_profile(result, written=output)
    context.console.result(result)


@data.command()
@click.argument("dataset_name", required=False, metavar="[DATASET]")
@click.option(
    "--throwaway-key",
    is_flag=True,
    help="Redact with a random one-off key (pseudonyms match no other build).",
)
@options.pass_context
def build(context: Context, dataset_name: str | None, throwaway_key: bool) -> None:
    """Build a snapshot of DATASET (the only configured one by default).

    Subsets the source, redacts personal data (redact.mode auto by default, with the key
    from $SANDBOXER_REDACTION_KEY), writes Parquet, checks integrity and the leak gate, and
    publishes atomically.
    """
    from sandboxer.redact.report import RedactionReport

    info = context.build(dataset_name, throwaway_key=throwaway_key)
    context.console.show_build(info, RedactionReport.from_manifest(info.manifest))
    m = info.manifest
    context.console.result(
        {"id": info.id, "dataset": m.dataset, "path": str(info.path), "totals": m.totals.to_dict()}
    )


@data.command("list")
@click.argument("dataset_name", required=False, metavar="[DATASET]")
@options.pass_context
def list_(context: Context, dataset_name: str | None) -> None:
    """List published snapshots, newest first."""
    infos = context.list_snapshots(dataset_name)
    latest = context.latest_snapshot_ids({i.dataset for i in infos})
    context.console.show_snapshots(infos, latest)
    context.console.result(
        {
            "snapshots": [
                {
                    "id": i.id,
                    "dataset": i.dataset,
                    "created_at": i.created_at,
                    "latest": latest.get(i.dataset) == i.id,
                    **i.manifest.totals.to_dict(),
                }
                for i in infos
            ]
        }
    )


@data.command()
@options.snapshot_ref
@options.pass_context
def show(context: Context, ref: str) -> None:
    """Show a snapshot's manifest: source, tables, subset statistics, integrity."""
    from sandboxer.redact.report import RedactionReport

    info = context.resolve_snapshot(ref)
    context.console.show_snapshot(info, RedactionReport.from_manifest(info.manifest))
    context.console.result(info.manifest.to_dict())


@data.command()
@options.snapshot_ref
@click.option(
    "--min-fidelity",
    type=click.FloatRange(0, 1),
    metavar="SCORE",
    help="Also fail when the snapshot's fidelity score is below SCORE.",
)
@options.pass_context
def verify(context: Context, ref: str, min_fidelity: float | None) -> None:
    """Check checksums, Parquet footers and FK integrity; exit 1 naming what is broken."""
    result = context.verify(ref, min_fidelity=min_fidelity)
    context.console.result(result)
    context.console.show_verify(result)
    if not result["ok"]:
        raise SandboxerError(
            f"Snapshot {result['id']} failed verification: {len(result['problems'])} "
            f"problem(s), first in {result['problems'][0]['file']}",
            hint="Rebuild it with `sandboxer data build`; do not use it.",
        )


@data.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID|NAME...")
@options.pass_context
def rm(context: Context, refs: tuple[str, ...]) -> None:
    """Remove snapshots (a dataset name removes its latest)."""
    removed = [context.remove(ref) for ref in refs]
    for sid in removed:
        context.console.info(f"Removed snapshot {sid}")
    context.console.result({"removed": removed})


@data.command()
@options.pass_context
def gc(context: Context) -> None:
    """Remove leftovers of interrupted builds (staging directories, dangling aliases)."""
    removed = context.gc()
    context.console.show_removed(removed)
    context.console.result({"removed": removed})


from sandboxer.cli import sandbox as _sandbox_commands  # noqa: E402 - registers on `cli`

_sandbox_commands.register(cli)
from sandboxer.cli import pipeline as _pipeline_commands  # noqa: E402

_pipeline_commands.register(cli)


def main() -> None:
    cli(prog_name="sandboxer")


if __name__ == "__main__":
    main()
    sys.exit(0)
