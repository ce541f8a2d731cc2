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


def _context(ctx: click.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


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
@click.pass_context
def init(ctx: click.Context, source_url: str | None, dataset_name: str | None, force: bool) -> None:
    """Write a starter sandboxer.yaml."""
    context = _context(ctx)
    path = context.init(source_url, dataset_name=dataset_name, force=force)
    context.console.info(f"Wrote {path}. Review the roots, then run `sandboxer data build`.")
    context.console.result({"config": str(path)})


@cli.group()
def data() -> None:
    """Test datasets: scan sources, build, list, verify and remove snapshots."""


@data.command()
@click.argument("source_url", required=False, metavar="[SOURCE]")
@click.option(
    "--dataset",
    "dataset_name",
    metavar="NAME",
    help="Use this dataset's source, virtual keys and roots.",
)
@click.option("--pii", is_flag=True, help="Detect personal data in every column (on a sample).")
@click.option(
    "--write-policy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --pii: write a redaction policy file for review.",
)
@click.pass_context
def scan(
    ctx: click.Context,
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
    context = _context(ctx)
    if write_policy is not None and not pii:
        raise click.UsageError("--write-policy needs --pii")
    if pii:
        result = context.scan_pii(source_url, dataset_name, write_policy=write_policy)
        rows = [
            [
                r["table"],
                r["column"],
                r["entity"] or "-",
                r["confidence"] if r["confidence"] is not None else "-",
                r["source"] or "-",
                r["suggested"],
            ]
            for r in result["columns"]
            if r["entity"]
        ]
        context.console.info(f"Source: {result['source']}")
        context.console.table(
            "Personal data found (on a sample)",
            ["table", "column", "entity", "confidence", "by", "strategy"],
            rows,
        )
        flagged = sum(1 for r in result["columns"] if r["pii"])
        context.console.info(f"{flagged} of {len(result['columns'])} columns look personal.")
        if write_policy is not None:
            context.console.info(
                f"Wrote {write_policy}: review it, then set redact.policy_file (and mode: strict)."
            )
        context.console.result(result)
        return
    report = context.scan(source_url, dataset_name)
    console = context.console
    console.info(f"Source: {report['source']}")
    rows = []
    for key, t in report["tables"].items():
        fks = "; ".join(
            f"({', '.join(fk['columns'])}) -> {fk['ref_table']}({', '.join(fk['ref_columns'])})"
            + (" [virtual]" if fk["virtual"] else "")
            for fk in t["foreign_keys"]
        )
        rows.append([key, t["rows"], ", ".join(t["primary_key"]) or "-", fks or "-"])
    console.table("Tables", ["table", "rows", "primary key", "foreign keys"], rows)
    if report["cycles"]:
        for cycle in report["cycles"]:
            console.info(f"Cycle: {' <-> '.join(cycle)} (handled without manual breaks)")
    else:
        console.info("Cycles: none")
    if "unreachable" in report:
        console.info(f"Roots: {', '.join(report['roots'])}")
        if report["unreachable"]:
            console.info(
                "Unreachable from the roots (will be empty in snapshots): "
                + ", ".join(report["unreachable"])
            )
        else:
            console.info("Every table is reachable from the roots.")
    if report.get("suggested_root"):
        console.info(f"Suggested root: {report['suggested_root']}")
    console.result(report)


@data.command()
@click.argument("target", required=False, metavar="[SOURCE|SNAPSHOT]")
@click.option("--dataset", "dataset_name", metavar="NAME", help="Use this dataset's source.")
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
@click.pass_context
def profile(
    ctx: click.Context,
    target: str | None,
    dataset_name: str | None,
    output: Path | None,
    sample_rows: int,
) -> None:
    """A privacy-safe profile of a source or snapshot: types, null rates, distributions,
    categories (non-personal, low-cardinality only), patterns, FK fan-out. Never a value of
    a personal column."""
    context = _context(ctx)
    result = context.profile(target, dataset_name, output=output, sample_rows=sample_rows)
    console = context.console
    for key, t in sorted(result["tables"].items()):
        rows = []
        for name, c in t["columns"].items():
            span = f"{c.get('min')} .. {c.get('max')}" if c.get("min") is not None else "-"
            rows.append(
                [
                    name,
                    c.get("type"),
                    f"{100 * (c.get('null_rate') or 0):.1f}%",
                    c.get("distinct"),
                    "yes" if c.get("pii") else "",
                    span,
                ]
            )
        console.table(
            f"{key} ({t.get('rows')} rows)",
            ["column", "type", "nulls", "distinct", "pii", "min .. max"],
            rows,
        )
    if output is not None:
        console.info(f"Wrote {output}")
    console.result(result)


@data.command()
@click.argument("dataset_name", required=False, metavar="[DATASET]")
@click.option(
    "--throwaway-key",
    is_flag=True,
    help="Redact with a random one-off key (pseudonyms match no other build).",
)
@click.pass_context
def build(ctx: click.Context, dataset_name: str | None, throwaway_key: bool) -> None:
    """Build a snapshot of DATASET (the only configured one by default).

    Subsets the source, redacts personal data (redact.mode auto by default, with the key
    from $SANDBOXER_REDACTION_KEY), writes Parquet, checks integrity and the leak gate, and
    publishes atomically.
    """
    context = _context(ctx)
    info = context.build(dataset_name, throwaway_key=throwaway_key)
    m = info.manifest
    console = context.console
    console.table(
        f"Snapshot {info.id} ({m.dataset})",
        ["table", "source rows", "snapshot rows", "selected by"],
        [
            [
                k,
                t.source_rows,
                t.rows,
                ", ".join(f"{r}={n}" for r, n in t.selected_by.items()) or "-",
            ]
            for k, t in m.tables.items()
        ],
    )
    console.info(
        f"{m.totals.rows} rows of {m.totals.source_rows} in "
        f"{m.totals.tables} tables; integrity ok (0 FK orphans, unique keys); "
        f"{m.build_seconds} s."
    )
    red = m.stages.get("redaction")
    if red:
        columns = sum(len(c) for c in red["columns"].values())
        gate = red["gate"]
        console.info(
            f"Redacted {columns} column(s) ({red['mode']} mode, key {red['key_fingerprint']}); "
            f"leak gate passed: {gate['columns_checked']} columns checked against "
            f"{gate['originals_checked']} original values, 0 leaks, 0 findings."
        )
    else:
        console.warn("no redaction stage ran (redact.mode: off)")
    console.info(f"Next: `sandboxer data show {info.id}` or `sandboxer data verify {info.id}`.")
    console.result(
        {"id": info.id, "dataset": m.dataset, "path": str(info.path), "totals": m.totals.to_dict()}
    )


@data.command("list")
@click.argument("dataset_name", required=False, metavar="[DATASET]")
@click.pass_context
def list_(ctx: click.Context, dataset_name: str | None) -> None:
    """List published snapshots, newest first."""
    context = _context(ctx)
    infos = context.list_snapshots(dataset_name)
    latest = {d: context.store.latest(d) for d in {i.dataset for i in infos}}
    context.console.table(
        "Snapshots",
        ["id", "dataset", "created", "tables", "rows", "size", ""],
        [
            [
                i.id,
                i.dataset,
                i.created_at,
                i.manifest.totals.tables,
                i.manifest.totals.rows,
                _size(i.manifest.totals.bytes),
                "latest" if latest.get(i.dataset) == i.id else "",
            ]
            for i in infos
        ],
    )
    if not infos:
        context.console.info("No snapshots yet. Build one with `sandboxer data build`.")
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
@click.argument("ref", default="latest", metavar="[ID|NAME|latest]")
@click.pass_context
def show(ctx: click.Context, ref: str) -> None:
    """Show a snapshot's manifest: source, tables, subset statistics, integrity."""
    context = _context(ctx)
    info = context.resolve_snapshot(ref)
    m = info.manifest
    console = context.console
    console.info(f"Snapshot {info.id}  dataset {m.dataset}  created {m.created_at}")
    console.info(
        f"Source: {m.source.url} ({m.source.type}"
        + (", consistent snapshot" if m.source.consistent_snapshot else "")
        + ")"
    )
    console.info(
        f"Seed {m.seed}, config sha256 {m.config_hash[:16]}, "
        f"sandboxer {m.tool_version}, built in {m.build_seconds} s"
    )
    console.table(
        "Tables",
        ["table", "mode", "source rows", "rows", "selected by", "size", "sha256"],
        [
            [
                k,
                t.mode,
                t.source_rows,
                t.rows,
                ", ".join(f"{r}={n}" for r, n in t.selected_by.items()) or "-",
                _size(t.bytes),
                t.sha256[:12],
            ]
            for k, t in m.tables.items()
        ],
    )
    integ = m.integrity
    console.info(
        f"Integrity: {integ.fk_orphans} FK orphans, {integ.pk_duplicates} "
        f"duplicate keys over {len(integ.checks)} checks"
    )
    if m.excluded_tables:
        console.info(f"Excluded: {', '.join(m.excluded_tables)}")
    synth = m.stages.get("synthesize")
    if synth:
        generated = ", ".join(f"{k}={v}" for k, v in synth.get("rows", {}).items()) or "none"
        copies = sum(int(p.get("exact_matches", 0)) for p in synth.get("privacy", {}).values())
        console.info(
            f"Synthesis ({synth['mode']}, scale {synth['scale']}): {generated} synthetic "
            f"rows; {copies} identical to a real row"
        )
    fid = m.fidelity
    if fid and fid.get("error"):
        console.info(f"Fidelity was not measured: {fid['error']}")
    elif fid:
        reference = fid.get("reference") or {}
        taken = f" taken {reference['profiled_at']}" if reference.get("profiled_at") else ""
        console.info(
            f"Fidelity {fid.get('score', 0):.3f} against a profile of the source{taken} "
            f"(columns {fid.get('columns_score', '-')}, foreign keys "
            f"{fid.get('foreign_keys_score', '-')})"
        )
        worst = fid.get("worst") or []
        if worst:
            console.table(
                "Least representative columns",
                ["column", "score", "metric", "distance"],
                [
                    [
                        f"{w.get('table')}.{w.get('column')}",
                        w.get("score"),
                        w.get("metric"),
                        w.get("distance"),
                    ]
                    for w in worst[:10]
                ],
            )
    red = m.stages.get("redaction")
    if red:
        rows = []
        for table, columns in red["columns"].items():
            for column, c in columns.items():
                evidence = c.get("evidence") or {}
                why = c["origin"]
                if c.get("confidence") is not None:
                    why += f" {c['confidence']}"
                if evidence.get("source"):
                    why += f" by {evidence['source']}"
                rows.append(
                    [
                        f"{table}.{column}",
                        c["strategy"],
                        c["entity"] or "-",
                        f"{c['changed']}/{c['rows']}",
                        why,
                    ]
                )
        console.table(
            f"Redaction ({red['mode']} mode, key fingerprint {red['key_fingerprint']})",
            ["column", "strategy", "entity", "changed", "rule from"],
            rows,
        )
        gate = red["gate"] or {}
        k = gate.get("k_anonymity", {}).get("tables", [])
        console.info(
            f"Leak gate: {'passed' if gate.get('ok') else 'FAILED'}; "
            f"{gate.get('columns_checked', 0)} columns checked against "
            f"{gate.get('originals_checked', 0)} original values"
            + "".join(
                f"; k-anonymity of {t['table']} over ({', '.join(t['columns'])}): k={t['k']}"
                for t in k
            )
        )
    else:
        console.info("Redaction: none (redact.mode: off)")
    console.info(f"Files: {info.path}")
    console.result(m.to_dict())


@data.command()
@click.argument("ref", default="latest", metavar="[ID|NAME|latest]")
@click.option(
    "--min-fidelity",
    type=click.FloatRange(0, 1),
    metavar="SCORE",
    help="Also fail when the snapshot's fidelity score is below SCORE.",
)
@click.pass_context
def verify(ctx: click.Context, ref: str, min_fidelity: float | None) -> None:
    """Check checksums, Parquet footers and FK integrity; exit 1 naming what is broken."""
    context = _context(ctx)
    result = context.verify(ref, min_fidelity=min_fidelity)
    console = context.console
    console.result(result)
    if result["ok"]:
        n = len(result["integrity"]["checks"])
        console.info(
            f"Snapshot {result['id']} is intact: checksums, footers and {n} integrity checks pass."
        )
        return
    for p in result["problems"]:
        click.echo(f"  {p['file']}: {p['problem']}", err=True)
    raise SandboxerError(
        f"Snapshot {result['id']} failed verification: {len(result['problems'])} problem(s), "
        f"first in {result['problems'][0]['file']}",
        hint="Rebuild it with `sandboxer data build`; do not use it.",
    )


@data.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID|NAME...")
@click.pass_context
def rm(ctx: click.Context, refs: tuple[str, ...]) -> None:
    """Remove snapshots (a dataset name removes its latest)."""
    context = _context(ctx)
    removed = [context.remove(ref) for ref in refs]
    for sid in removed:
        context.console.info(f"Removed snapshot {sid}")
    context.console.result({"removed": removed})


@data.command()
@click.pass_context
def gc(ctx: click.Context) -> None:
    """Remove leftovers of interrupted builds (staging directories, dangling aliases)."""
    context = _context(ctx)
    removed = context.gc()
    for path in removed:
        context.console.info(f"Removed {path}")
    if not removed:
        context.console.info("Nothing to clean.")
    context.console.result({"removed": removed})


from sandboxer.cli import sandbox as _sandbox_commands  # noqa: E402 - registers on `cli`

_sandbox_commands.register(cli)
from sandboxer.cli import pipeline as _pipeline_commands  # noqa: E402

_pipeline_commands.register(cli)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def main() -> None:
    cli(prog_name="sandboxer")


if __name__ == "__main__":
    main()
    sys.exit(0)
