"""How the sandbox commands show their results: a sandbox, the list, templates."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sandboxer.console.output import Output

if TYPE_CHECKING:
    from sandboxer.sandbox.base import SandboxInfo
    from sandboxer.sandbox.templates import Template


class SandboxRenderers(Output):
    """The ``show_*`` renderers of the sandbox commands and ``templates``."""

    def show_sandbox(self, info: SandboxInfo, verb: str, *, resources: bool = False) -> None:
        """A sandbox's state, dataset, connections and how to enter it: "Sandbox `s1` is
        ready: ..." (``verb`` says what happened); ``resources`` adds its containers, network
        and volumes as --verbose lines."""
        iso = "" if info.isolated else "  (process backend: NOT isolated)"
        self.info(f"Sandbox `{info.name}` {verb}: {info.state} on {info.backend}{iso}")
        if info.snapshot_id:
            self.info(f"  dataset   {info.dataset or '-'} (snapshot {info.snapshot_id})")
        if info.key_notice:
            self.warn(f"sandbox `{info.name}` holds an older key's pseudonyms: {info.key_notice}")
        if info.template:
            self.info(f"  template  {info.template}")
        for engine, conn in sorted(info.connections.items()):
            self.info(f"  {engine:<9} {conn}")
        if info.load:
            tables = info.load.get("tables", {})
            rows = sum(int(t.get("rows", 0)) for t in tables.values()) if tables else None
            ok = info.load.get("ok")
            if rows is not None:
                self.info(
                    f"  loaded    {rows} rows in {len(tables)} tables, counts and checksums "
                    f"{'verified' if ok else 'NOT verified'}"
                )
        self.info(f"  enter     {info.enter or f'sandboxer shell {info.name}'}")
        if resources:
            for key, value in sorted(info.resources.items()):
                self.detail(f"{key}: {value}")

    def show_sandboxes(self, infos: Iterable[SandboxInfo]) -> None:
        """``list``: one row per sandbox of the project."""
        infos = list(infos)
        self.table(
            "Sandboxes",
            ["name", "state", "backend", "template", "dataset", "created"],
            [
                [
                    i.name,
                    i.state,
                    i.backend + ("" if i.isolated else " (not isolated)"),
                    i.template or "-",
                    (i.snapshot_id or "-") + (" (older key)" if i.key_notice else ""),
                    i.created_at or "-",
                ]
                for i in infos
            ],
        )
        for i in infos:
            if i.key_notice:
                self.warn(f"sandbox `{i.name}` holds an older key's pseudonyms: {i.key_notice}")
        if not infos:
            self.info("No sandboxes. Create one with `sandboxer create NAME`.")

    def show_templates(self, templates: Iterable[Template]) -> None:
        """``templates list``: name, engine, parent and description of each template."""
        self.table(
            "Templates",
            ["name", "engine", "extends", "description"],
            [[t.name, t.data.engine, t.extends or "-", t.description] for t in templates],
        )

    def show_template(self, template: Template, source: Path, dockerfile: str) -> None:
        """``templates show``: the resolved template as YAML, where it is defined (``source``)
        and the workspace Dockerfile generated from it."""
        import yaml

        self.info(f"# {template.name} ({source})")
        self.info(yaml.safe_dump(template.model_dump(mode="json"), sort_keys=False))
        self.info("# Generated Dockerfile (workspace)")
        self.info(dockerfile)
