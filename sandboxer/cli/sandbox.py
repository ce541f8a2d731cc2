"""Sandbox commands: ``sandboxer create`` and the lifecycle, plus ``templates``."""

from __future__ import annotations

import sys
from typing import Any

import click

from sandboxer.context import Context
from sandboxer.sandbox import BACKEND_NAMES


def _context(ctx: click.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def _summary(context: Context, info: Any, verb: str) -> None:
    console = context.console
    iso = "" if info.isolated else "  (process backend: NOT isolated)"
    console.info(f"Sandbox `{info.name}` {verb}: {info.state} on {info.backend}{iso}")
    if info.snapshot_id:
        console.info(f"  dataset   {info.dataset or '-'} (snapshot {info.snapshot_id})")
    if info.template:
        console.info(f"  template  {info.template}")
    for engine, conn in sorted(info.connections.items()):
        console.info(f"  {engine:<9} {conn}")
    if info.load:
        tables = info.load.get("tables", {})
        rows = sum(int(t.get("rows", 0)) for t in tables.values()) if tables else None
        ok = info.load.get("ok")
        if rows is not None:
            console.info(
                f"  loaded    {rows} rows in {len(tables)} tables, counts and checksums "
                f"{'verified' if ok else 'NOT verified'}"
            )
    console.info(f"  enter     {info.enter or f'sandboxer shell {info.name}'}")
    console.result(info.to_json())


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("name")
    @click.option("--template", "-t", metavar="T", help="Template (default: python-duckdb).")
    @click.option(
        "--dataset",
        "-d",
        metavar="NAME|ID|latest",
        help="Snapshot to load (a dataset name loads its latest; built if missing).",
    )
    @click.option(
        "--backend",
        type=click.Choice(["auto", *BACKEND_NAMES]),
        help="Where the sandbox runs (default: docker when reachable).",
    )
    @click.option("--replace", is_flag=True, help="Destroy an existing sandbox of this name first.")
    @click.option("--ttl", metavar="DURATION", help="Time to live, e.g. 8h: `gc` removes it after.")
    @click.pass_context
    def create(
        ctx: click.Context,
        name: str,
        template: str | None,
        dataset: str | None,
        backend: str | None,
        replace: bool,
        ttl: str | None,
    ) -> None:
        """Create sandbox NAME with the team's tools and the latest PII-safe snapshot loaded."""
        context = _context(ctx)
        info = context.sandboxes.create(
            name, template=template, dataset=dataset, backend=backend, replace=replace, ttl=ttl
        )
        _summary(context, info, "is ready")

    @cli.command("list")
    @click.pass_context
    def list_(ctx: click.Context) -> None:
        """List this project's sandboxes (partial ones are leftovers for `gc`)."""
        context = _context(ctx)
        infos = context.sandboxes.list()
        context.console.table(
            "Sandboxes",
            ["name", "state", "backend", "template", "dataset", "created"],
            [
                [
                    i.name,
                    i.state,
                    i.backend + ("" if i.isolated else " (not isolated)"),
                    i.template or "-",
                    i.snapshot_id or "-",
                    i.created_at or "-",
                ]
                for i in infos
            ],
        )
        if not infos:
            context.console.info("No sandboxes. Create one with `sandboxer create NAME`.")
        context.console.result({"sandboxes": [i.to_json() for i in infos]})

    @cli.command()
    @click.argument("name")
    @click.pass_context
    def status(ctx: click.Context, name: str) -> None:
        """Show a sandbox: state, containers, connections, dataset."""
        context = _context(ctx)
        info = context.sandboxes.status(name)
        _summary(context, info, "is")
        for key, value in sorted(info.resources.items()):
            context.console.detail(f"{key}: {value}")

    @cli.command()
    @click.argument("name")
    @click.pass_context
    def shell(ctx: click.Context, name: str) -> None:
        """Open an interactive shell in the sandbox."""
        code = _context(ctx).sandboxes.exec(name, ["/bin/bash"], interactive=True)
        ctx.exit(code)

    @cli.command(context_settings={"ignore_unknown_options": True})
    @click.argument("name")
    @click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
    @click.pass_context
    def exec(ctx: click.Context, name: str, command: tuple[str, ...]) -> None:
        """Run COMMAND in the sandbox: `sandboxer exec NAME -- python -c ...`."""
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        code = _context(ctx).sandboxes.exec(name, list(command), interactive=interactive)
        ctx.exit(code)

    @cli.command()
    @click.argument("name")
    @click.option("--follow", "-f", is_flag=True, help="Keep printing new output.")
    @click.pass_context
    def logs(ctx: click.Context, name: str, follow: bool) -> None:
        """Print the sandbox's logs (workspace and services)."""
        _context(ctx).sandboxes.logs(name, follow=follow)

    @cli.command()
    @click.argument("name")
    @click.pass_context
    def stop(ctx: click.Context, name: str) -> None:
        """Stop a sandbox (keeps its data)."""
        context = _context(ctx)
        context.sandboxes.stop(name)
        context.console.info(f"Stopped `{name}`. `sandboxer start {name}` resumes it.")

    @cli.command()
    @click.argument("name")
    @click.pass_context
    def start(ctx: click.Context, name: str) -> None:
        """Start a stopped sandbox (runs its post_start hooks)."""
        context = _context(ctx)
        _summary(context, context.sandboxes.start(name), "is")

    @cli.command()
    @click.argument("name")
    @click.option(
        "--dataset",
        "-d",
        metavar="NAME|ID|latest",
        help="Load this snapshot instead of the one it has.",
    )
    @click.pass_context
    def reset(ctx: click.Context, name: str, dataset: str | None) -> None:
        """Reload the dataset fresh (drops every change made in the sandbox's data)."""
        context = _context(ctx)
        _summary(context, context.sandboxes.reset(name, dataset), "was reset and")

    @cli.command()
    @click.argument("name")
    @click.pass_context
    def destroy(ctx: click.Context, name: str) -> None:
        """Remove a sandbox: containers, network, volumes, secrets."""
        context = _context(ctx)
        context.sandboxes.destroy(name)
        context.console.info(f"Destroyed `{name}`.")
        context.console.result({"destroyed": name})

    @cli.command()
    @click.option(
        "--ttl", metavar="DURATION", help="Also remove sandboxes older than this (e.g. 7d)."
    )
    @click.pass_context
    def gc(ctx: click.Context, ttl: str | None) -> None:
        """Remove leftovers: interrupted creates, expired or orphaned sandbox resources."""
        context = _context(ctx)
        removed = context.sandboxes.gc(ttl)
        for item in removed:
            context.console.info(f"Removed {item}")
        if not removed:
            context.console.info("Nothing to clean.")
        context.console.result({"removed": removed})

    @cli.group()
    def templates() -> None:
        """Environment templates for sandboxes."""

    @templates.command("list")
    @click.pass_context
    def templates_list(ctx: click.Context) -> None:
        """List built-in and project templates."""
        from sandboxer.sandbox.templates import list_templates

        context = _context(ctx)
        items = list_templates(context.project_dir)
        context.console.table(
            "Templates",
            ["name", "engine", "extends", "description"],
            [[t.name, t.data.engine, t.extends or "-", t.description] for t in items],
        )
        context.console.result({"templates": [t.name for t in items]})

    @templates.command("show")
    @click.argument("name")
    @click.pass_context
    def templates_show(ctx: click.Context, name: str) -> None:
        """Show a template (resolved, with `extends` applied) and its generated Dockerfile."""
        from sandboxer.sandbox.image import dockerfile
        from sandboxer.sandbox.templates import load_template, template_source

        context = _context(ctx)
        tmpl = load_template(name, context.project_dir)
        context.console.info(f"# {tmpl.name} ({template_source(name, context.project_dir)})")
        import yaml

        context.console.info(yaml.safe_dump(tmpl.model_dump(mode="json"), sort_keys=False))
        context.console.info("# Generated Dockerfile (workspace)")
        context.console.info(dockerfile(tmpl, "workspace"))
        context.console.result(tmpl.model_dump(mode="json"))
