"""Sandbox commands: ``sandboxer create`` and the lifecycle, plus ``templates``."""

from __future__ import annotations

import sys

import click

from sandboxer.cli import options
from sandboxer.context import Context


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("name")
    @options.template
    @options.snapshot()
    @options.backend
    @click.option("--replace", is_flag=True, help="Destroy an existing sandbox of this name first.")
    @click.option("--ttl", metavar="DURATION", help="Time to live, e.g. 8h: `gc` removes it after.")
    @options.pass_context
    def create(
        context: Context,
        name: str,
        template: str | None,
        dataset: str | None,
        backend: str | None,
        replace: bool,
        ttl: str | None,
    ) -> None:
        """Create sandbox NAME with the team's tools and the latest PII-safe snapshot loaded."""
        info = context.sandboxes.create(
            name, template=template, dataset=dataset, backend=backend, replace=replace, ttl=ttl
        )
        context.console.show_sandbox(info, "is ready")
        context.console.result(info.to_json())

    @cli.command("list")
    @options.pass_context
    def list_(context: Context) -> None:
        """List this project's sandboxes (partial ones are leftovers for `gc`)."""
        infos = context.sandboxes.list()
        context.console.show_sandboxes(infos)
        context.console.result({"sandboxes": [i.to_json() for i in infos]})

    @cli.command()
    @click.argument("name")
    @options.pass_context
    def status(context: Context, name: str) -> None:
        """Show a sandbox: state, containers, connections, dataset."""
        info = context.sandboxes.status(name)
        context.console.show_sandbox(info, "is", resources=True)
        context.console.result(info.to_json())

    @cli.command()
    @click.argument("name")
    @options.pass_context
    def shell(context: Context, name: str) -> None:
        """Open an interactive shell in the sandbox."""
        code = context.sandboxes.exec(name, ["/bin/bash"], interactive=True)
        click.get_current_context().exit(code)

    @cli.command(context_settings={"ignore_unknown_options": True})
    @click.argument("name")
    @click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
    @options.pass_context
    def exec(context: Context, name: str, command: tuple[str, ...]) -> None:
        """Run COMMAND in the sandbox: `sandboxer exec NAME -- python -c ...`."""
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        code = context.sandboxes.exec(name, list(command), interactive=interactive)
        click.get_current_context().exit(code)

    @cli.command()
    @click.argument("name")
    @click.option("--follow", "-f", is_flag=True, help="Keep printing new output.")
    @options.pass_context
    def logs(context: Context, name: str, follow: bool) -> None:
        """Print the sandbox's logs (workspace and services)."""
        context.sandboxes.logs(name, follow=follow)

    @cli.command()
    @click.argument("name")
    @options.pass_context
    def stop(context: Context, name: str) -> None:
        """Stop a sandbox (keeps its data)."""
        context.sandboxes.stop(name)
        context.console.info(f"Stopped `{name}`. `sandboxer start {name}` resumes it.")

    @cli.command()
    @click.argument("name")
    @options.pass_context
    def start(context: Context, name: str) -> None:
        """Start a stopped sandbox (runs its post_start hooks)."""
        info = context.sandboxes.start(name)
        context.console.show_sandbox(info, "is")
        context.console.result(info.to_json())

    @cli.command()
    @click.argument("name")
    @options.snapshot("Load this snapshot instead of the one it has.")
    @options.pass_context
    def reset(context: Context, name: str, dataset: str | None) -> None:
        """Reload the dataset fresh (drops every change made in the sandbox's data)."""
        info = context.sandboxes.reset(name, dataset)
        context.console.show_sandbox(info, "was reset and")
        context.console.result(info.to_json())

    @cli.command()
    @click.argument("name")
    @options.pass_context
    def destroy(context: Context, name: str) -> None:
        """Remove a sandbox: containers, network, volumes, secrets."""
        context.sandboxes.destroy(name)
        context.console.info(f"Destroyed `{name}`.")
        context.console.result({"destroyed": name})

    @cli.command()
    @click.option(
        "--ttl", metavar="DURATION", help="Also remove sandboxes older than this (e.g. 7d)."
    )
    @options.pass_context
    def gc(context: Context, ttl: str | None) -> None:
        """Remove leftovers: interrupted creates, expired or orphaned sandbox resources."""
        removed = context.sandboxes.gc(ttl)
        context.console.show_removed(removed)
        context.console.result({"removed": removed})

    @cli.group()
    def templates() -> None:
        """Environment templates for sandboxes."""

    @templates.command("list")
    @options.pass_context
    def templates_list(context: Context) -> None:
        """List built-in and project templates."""
        items = context.templates()
        context.console.show_templates(items)
        context.console.result({"templates": [t.name for t in items]})

    @templates.command("show")
    @click.argument("name")
    @options.pass_context
    def templates_show(context: Context, name: str) -> None:
        """Show a template (resolved, with `extends` applied) and its generated Dockerfile."""
        template, source, dockerfile = context.template(name)
        context.console.show_template(template, source, dockerfile)
        context.console.result(template.model_dump(mode="json"))
