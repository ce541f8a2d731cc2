"""The core every command calls: one Context per invocation (SQLMesh style).

The CLI is a thin layer over these methods; tests and Python users drive the same calls.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.models import Dataset, Project, SandboxDefaults, TableMode
from sandboxer.console import Console, NoopConsole
from sandboxer.errors import ConfigError, SandboxerError, StoreError, did_you_mean
from sandboxer.snapshot.store import MANIFEST, LocalStore, SnapshotInfo
from sandboxer.sources import Source, create_source
from sandboxer.sources.schema import Schema
from sandboxer.sources.urls import resolve_url

if TYPE_CHECKING:
    from sandboxer.pipeline.flow import Flow
    from sandboxer.sandbox.manager import Sandboxes
    from sandboxer.sandbox.templates import Template

DEFAULT_CONFIG = "sandboxer.yaml"


class Context:
    def __init__(
        self,
        config_path: Path | str = DEFAULT_CONFIG,
        console: Console | None = None,
        *,
        store_root: Path | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.console = console or NoopConsole()
        self._store_root = store_root
        """Overrides ``store.path`` (a baseline run in a git worktree uses the main store)."""

    # -- configuration -------------------------------------------------------------------
    @property
    def project_dir(self) -> Path:
        return self.config_path.resolve().parent

    @functools.cached_property
    def project(self) -> Project:
        from sandboxer.config.loader import load_config

        if not self.config_path.exists():
            raise ConfigError(
                f"No config file at {self.config_path}",
                hint="Run `sandboxer init --source URL` to write one, or pass --config PATH.",
            )
        project = load_config(self.config_path, Project)
        assert isinstance(project, Project)
        return project

    @functools.cached_property
    def store(self) -> LocalStore:
        if self._store_root is not None:
            return LocalStore(self._store_root)
        root = Path(self.project.store.path)
        return LocalStore((root if root.is_absolute() else self.project_dir / root).resolve())

    def dataset(self, name: str | None = None) -> tuple[str, Dataset]:
        datasets = self.project.datasets
        if not datasets:
            raise ConfigError(
                "No datasets in the config",
                path=str(self.config_path),
                hint="Add one under `datasets:` (see `sandboxer init`).",
            )
        if name is None:
            if len(datasets) > 1:
                raise ConfigError(
                    f"Several datasets are configured ({', '.join(sorted(datasets))})",
                    hint=f"Name one, e.g. `sandboxer data build {sorted(datasets)[0]}`.",
                )
            name = next(iter(datasets))
        if name not in datasets:
            raise ConfigError(
                f"Unknown dataset `{name}`",
                path=str(self.config_path),
                hint=did_you_mean(name, datasets) or f"Datasets: {', '.join(sorted(datasets))}",
            )
        dataset = datasets[name]
        resolved = resolve_url(dataset.source, self.project_dir)
        return name, dataset.model_copy(update={"source": resolved})

    def source(self, url: str) -> Source:
        return create_source(resolve_url(url, Path.cwd()))

    # -- data ----------------------------------------------------------------------------
    def scan(
        self, source_url: str | None = None, dataset_name: str | None = None
    ) -> dict[str, Any]:
        """The schema graph of a source: tables, counts, keys, cycles, reachability."""
        from sandboxer.build.builder import load_schema
        from sandboxer.subset.graph import cycles, reachable, suggest_root

        dataset: Dataset | None = None
        if source_url is None:
            _, dataset = self.dataset(dataset_name)
            source = create_source(dataset.source)
        else:
            source = self.source(source_url)
            if dataset_name is not None:
                _, dataset = self.dataset(dataset_name)
        with source:
            schema = load_schema(source, dataset) if dataset is not None else source.introspect()
            for table in schema.tables.values():
                table.row_count = source.count_rows(table)
        report: dict[str, Any] = {
            "source": source.display_url,
            "tables": {
                key: {
                    "rows": t.row_count,
                    "columns": len(t.columns),
                    "primary_key": list(t.primary_key),
                    "unique_keys": [list(u) for u in t.unique_keys],
                    "foreign_keys": [
                        {
                            "columns": list(fk.columns),
                            "ref_table": fk.ref_table.key,
                            "ref_columns": list(fk.ref_columns),
                            "virtual": fk.virtual,
                        }
                        for fk in t.foreign_keys
                    ],
                }
                for key, t in sorted(schema.tables.items())
            },
            "cycles": cycles(schema),
        }
        if dataset is not None and dataset.subset.roots:
            roots = {schema.table(r.table).key for r in dataset.subset.roots}
            modes = {schema.table(k).key: m for k, m in dataset.subset.tables.items()}
            roots |= {k for k, m in modes.items() if m is TableMode.all}
            reach = reachable(schema, roots, follow_children=dataset.subset.follow_children)
            report["roots"] = sorted(roots)
            report["unreachable"] = sorted(
                k for k in schema.tables if k not in reach and modes.get(k) is not TableMode.exclude
            )
        report["suggested_root"] = suggest_root(schema)
        return report

    def scan_pii(
        self,
        source_url: str | None = None,
        dataset_name: str | None = None,
        *,
        write_policy: Path | None = None,
    ) -> dict[str, Any]:
        """Detect personal data on a sample of every table; optionally write a policy file."""
        from sandboxer.build.builder import load_schema
        from sandboxer.config.models import Redact
        from sandboxer.redact.scan import policy_yaml, sample_tables, scan_pii

        dataset: Dataset | None = None
        if source_url is None or dataset_name is not None:
            _, dataset = self.dataset(dataset_name)
        redact = dataset.redact if dataset is not None else Redact()
        if source_url:
            source = self.source(source_url)
        else:
            assert dataset is not None
            source = create_source(dataset.source)
        with source:
            schema = load_schema(source, dataset) if dataset else source.introspect()
            samples = sample_tables(
                source, schema, redact.sample_rows, dataset.seed if dataset else 0
            )
        rows = scan_pii(samples, redact.threshold)
        if write_policy is not None:
            if write_policy.exists():
                raise SandboxerError(
                    f"{write_policy} already exists", hint="Choose another path or remove it first."
                )
            write_policy.write_text(policy_yaml(rows, source.display_url), encoding="utf-8")
        return {
            "source": source.display_url,
            "columns": rows,
            "policy": str(write_policy) if write_policy else None,
        }

    def build(
        self, dataset_name: str | None = None, *, throwaway_key: bool = False
    ) -> SnapshotInfo:
        from sandboxer.build.builder import build_snapshot
        from sandboxer.snapshot.stage import Stage

        name, dataset = self.dataset(dataset_name)
        stages: list[Stage] = []
        if dataset.synthesize is not None:
            from sandboxer.synthesize.stage import SynthesizeStage

            # Before redaction: synthetic rows get the same keyed rules as real ones.
            stages.append(SynthesizeStage(dataset.synthesize, self.project_dir))
        if dataset.redact.mode.value != "off":
            from sandboxer.redact.secret_key import load_key
            from sandboxer.redact.stage import RedactStage

            key = load_key(
                env=dataset.redact.key_env,
                file=dataset.redact.key_file,
                command=dataset.redact.key_command,
                timeout=dataset.redact.key_command_timeout,
                base=self.project_dir,
                throwaway=throwaway_key,
            )
            stages.append(RedactStage(dataset.redact, key, self.project_dir))
        elif throwaway_key:
            raise SandboxerError("--throwaway-key needs redaction, and redact.mode is off")
        return build_snapshot(name, dataset, self.store, self.console, stages=stages)

    def list_snapshots(self, dataset: str | None = None) -> list[SnapshotInfo]:
        return self.store.list(dataset)

    def latest_snapshot_ids(self, datasets: Iterable[str]) -> dict[str, str | None]:
        """The snapshot ``latest`` names for each dataset (None when it has none)."""
        return {d: self.store.latest(d) for d in datasets}

    def resolve_snapshot(self, ref: str) -> SnapshotInfo:
        default = None
        if ref == "latest" and self.config_path.exists() and len(self.project.datasets) == 1:
            default = next(iter(self.project.datasets))
        return self.store.resolve(ref, default)

    def verify(self, ref: str, *, min_fidelity: float | None = None) -> dict[str, Any]:
        from sandboxer.snapshot.verify import verify

        info = self.resolve_snapshot(ref)
        result = verify(info)
        if min_fidelity is not None:
            recorded = info.manifest.fidelity or {}
            score = recorded.get("score")
            if score is None:
                why = (
                    f"fidelity was not measured: {recorded['error']}"
                    if recorded.get("error")
                    else "no fidelity recorded (build with fidelity.enabled: true)"
                )
                result["problems"].append({"file": MANIFEST, "table": "", "problem": why})
            elif score < min_fidelity:
                result["problems"].append(
                    {
                        "file": MANIFEST,
                        "table": "",
                        "problem": f"fidelity {score:.3f} below {min_fidelity}",
                    }
                )
            result["ok"] = not result["problems"]
        return result

    def profile(
        self,
        target: str | None = None,
        dataset_name: str | None = None,
        *,
        output: Path | None = None,
        sample_rows: int = 1_000_000,
    ) -> dict[str, Any]:
        """A privacy-safe profile of a source (URL, directory, the dataset's source) or of a
        snapshot (id, dataset name, latest); written to ``output`` when given."""
        import json

        from sandboxer.build.builder import load_schema
        from sandboxer.profile import profile_snapshot, profile_source

        is_source = target is None or "://" in target or Path(target).exists()
        if is_source:
            dataset: Dataset | None = None
            if target is None or dataset_name is not None:
                _, dataset = self.dataset(dataset_name)
            source = (
                self.source(target) if target else create_source(dataset.source if dataset else "")
            )
            with source:
                schema = load_schema(source, dataset) if dataset else source.introspect()
                result: dict[str, Any] = profile_source(
                    source, schema, sample_rows=sample_rows, seed=dataset.seed if dataset else 0
                )
        else:
            assert target is not None
            result = profile_snapshot(self.resolve_snapshot(target))
        if output is not None:
            with open(output, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2, sort_keys=True, allow_nan=False)
                f.write("\n")
        return result

    def remove(self, ref: str) -> str:
        info = self.resolve_snapshot(ref)
        self.store.remove(info.id)
        return info.id

    def gc(self) -> list[str]:
        return self.store.gc()

    # -- sandboxes -----------------------------------------------------------------------
    @functools.cached_property
    def sandboxes(self) -> Sandboxes:
        """Sandbox operations: create, list, exec, destroy..."""
        from sandboxer.sandbox.manager import Sandboxes

        return Sandboxes(
            project_dir=self.project_dir,
            store=self.store,
            console=self.console,
            defaults=self.sandbox_defaults,
            snapshots=self.snapshot_or_build,
        )

    def templates(self) -> list[Template]:
        """Every sandbox template: the built-in ones and the project's (which override)."""
        from sandboxer.sandbox.templates import list_templates

        return list_templates(self.project_dir)

    def template(self, name: str) -> tuple[Template, Path, str]:
        """Template ``name`` resolved (``extends`` applied), the file that defines it, and
        the Dockerfile generated for its workspace."""
        from sandboxer.sandbox.image import dockerfile
        from sandboxer.sandbox.templates import load_template, template_source

        template = load_template(name, self.project_dir)
        return template, template_source(name, self.project_dir), dockerfile(template, "workspace")

    def sandbox_defaults(self) -> SandboxDefaults:
        """The project's ``sandbox:`` section, or the defaults when there is no config."""
        return self.project.sandbox if self.config_path.exists() else SandboxDefaults()

    def snapshot_or_build(self, ref: str) -> SnapshotInfo:
        """A snapshot id, ``latest`` or a dataset name; a configured dataset that has no
        snapshot yet is built first (how a sandbox or a test run starts on a fresh clone)."""
        try:
            return self.resolve_snapshot(ref)
        except StoreError:
            datasets = self.project.datasets if self.config_path.exists() else {}
            name = (
                ref
                if ref in datasets
                else (next(iter(datasets)) if ref == "latest" and len(datasets) == 1 else None)
            )
            if name is None:
                raise
            self.console.step(f"No snapshot of `{name}` yet: building one")
            return self.build(name)

    @functools.cached_property
    def flow(self) -> Flow:
        """The Innovation Pipeline: run, baselines, compare, test."""
        from sandboxer.pipeline.flow import Flow

        return Flow(
            project_dir=self.project_dir,
            config_path=self.config_path,
            pipeline=self.project.pipeline,
            store=self.store,
            sandboxes=self.sandboxes,
            console=self.console,
            flow_for_config=self._flow_for_config,
        )

    def _flow_for_config(self, config_path: Path) -> Flow:
        """The flow of another checkout of this project (a git worktree for a baseline),
        sharing this store."""
        return Context(config_path, self.console, store_root=self.store.root).flow

    # -- init ----------------------------------------------------------------------------
    def init(
        self, source_url: str | None, *, dataset_name: str | None = None, force: bool = False
    ) -> Path:
        """Write a starter sandboxer.yaml filled from the scanned schema."""
        from sandboxer.build.starter import starter_config

        if self.config_path.exists() and not force:
            raise SandboxerError(
                f"{self.config_path} already exists", hint="Pass --force to overwrite it."
            )
        schema: Schema | None = None
        if source_url is not None:
            with self.source(source_url) as source:
                schema = source.introspect()
                for table in schema.tables.values():
                    table.row_count = source.count_rows(table)
        text = starter_config(source_url, schema, dataset_name)
        self.config_path.write_text(text, encoding="utf-8")
        return self.config_path
