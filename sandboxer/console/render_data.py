"""How the ``data`` commands show their results: schema and PII scans, profiles, snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.console.output import Output

if TYPE_CHECKING:
    from sandboxer.redact.report import RedactionReport
    from sandboxer.snapshot.manifest import SnapshotManifest
    from sandboxer.snapshot.store import SnapshotInfo


class DataRenderers(Output):
    """The ``show_*`` renderers of ``data``: scan, profile, build, list, show, verify, gc."""

    def show_schema_scan(self, report: dict[str, Any]) -> None:
        """``data scan``: tables with counts and keys, cycles, reachability from the roots."""
        self.info(f"Source: {report['source']}")
        self.table(
            "Tables",
            ["table", "rows", "primary key", "foreign keys"],
            [
                [key, t["rows"], ", ".join(t["primary_key"]) or "-", _foreign_keys(t) or "-"]
                for key, t in report["tables"].items()
            ],
        )
        if report["cycles"]:
            for cycle in report["cycles"]:
                self.info(f"Cycle: {' <-> '.join(cycle)} (handled without manual breaks)")
        else:
            self.info("Cycles: none")
        if "unreachable" in report:
            self.info(f"Roots: {', '.join(report['roots'])}")
            if report["unreachable"]:
                self.info(
                    "Unreachable from the roots (will be empty in snapshots): "
                    + ", ".join(report["unreachable"])
                )
            else:
                self.info("Every table is reachable from the roots.")
        if report.get("suggested_root"):
            self.info(f"Suggested root: {report['suggested_root']}")

    def show_pii_scan(self, result: dict[str, Any]) -> None:
        """``data scan --pii``: the columns that look personal, and the policy file written."""
        columns = result["columns"]
        self.info(f"Source: {result['source']}")
        self.table(
            "Personal data found (on a sample)",
            ["table", "column", "entity", "confidence", "by", "strategy"],
            [
                [
                    r["table"],
                    r["column"],
                    r["entity"] or "-",
                    r["confidence"] if r["confidence"] is not None else "-",
                    r["source"] or "-",
                    r["suggested"],
                ]
                for r in columns
                if r["entity"]
            ],
        )
        flagged = sum(1 for r in columns if r["pii"])
        self.info(f"{flagged} of {len(columns)} columns look personal.")
        if result.get("policy"):
            self.info(
                f"Wrote {result['policy']}: review it, then set redact.policy_file "
                "(and mode: strict)."
            )

    def show_profile(self, profile: dict[str, Any], written: Path | None = None) -> None:
        """``data profile``: one table of column statistics per table, and the file written."""
        for key, t in sorted(profile["tables"].items()):
            self.table(
                f"{key} ({t.get('rows')} rows)",
                ["column", "type", "nulls", "distinct", "pii", "min .. max"],
                [
                    [
                        name,
                        c.get("type"),
                        f"{100 * (c.get('null_rate') or 0):.1f}%",
                        c.get("distinct"),
                        "yes" if c.get("pii") else "",
                        f"{c.get('min')} .. {c.get('max')}" if c.get("min") is not None else "-",
                    ]
                    for name, c in t["columns"].items()
                ],
            )
        if written is not None:
            self.info(f"Wrote {written}")

    def show_build(self, info: SnapshotInfo, redaction: RedactionReport | None = None) -> None:
        """``data build``: rows per table, integrity, what redaction did (``redaction``, the
        manifest's report read by the caller), what to run next."""
        m = info.manifest
        self.table(
            f"Snapshot {info.id} ({m.dataset})",
            ["table", "source rows", "snapshot rows", "selected by"],
            [[k, t.source_rows, t.rows, _selected_by(t.selected_by)] for k, t in m.tables.items()],
        )
        self.info(
            f"{m.totals.rows} rows of {m.totals.source_rows} in "
            f"{m.totals.tables} tables; integrity ok (0 FK orphans, unique keys); "
            f"{m.build_seconds} s."
        )
        red = redaction
        if red:
            columns = sum(len(c) for c in red.columns.values())
            gate = red.gate
            checked = (
                f"{gate.columns_checked} columns checked against {gate.originals_checked} "
                f"original values of {len(gate.personal_columns or [])} personal column(s)"
                if gate
                else "not run"
            )
            self.info(
                f"Redacted {columns} column(s) ({red.mode} mode, key {red.key_fingerprint}); "
                f"leak gate passed: {checked}, 0 leaks, 0 findings."
            )
        else:
            self.warn("no redaction stage ran (redact.mode: off)")
        self.info(f"Next: `sandboxer data show {info.id}` or `sandboxer data verify {info.id}`.")

    def show_snapshots(
        self, infos: Iterable[SnapshotInfo], latest: Mapping[str, str | None]
    ) -> None:
        """``data list``: one row per snapshot; ``latest`` maps a dataset to its latest id."""
        infos = list(infos)
        self.table(
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
            self.info("No snapshots yet. Build one with `sandboxer data build`.")

    def show_snapshot(self, info: SnapshotInfo, redaction: RedactionReport | None = None) -> None:
        """``data show``: a snapshot's manifest, from its source to its files (``redaction``:
        its redaction report, read by the caller)."""
        m = info.manifest
        self.info(f"Snapshot {info.id}  dataset {m.dataset}  created {m.created_at}")
        self.info(
            f"Source: {m.source.url} ({m.source.type}"
            + (", consistent snapshot" if m.source.consistent_snapshot else "")
            + ")"
        )
        self.info(
            f"Seed {m.seed}, config sha256 {m.config_hash[:16]}, "
            f"sandboxer {m.tool_version}, built in {m.build_seconds} s"
        )
        self.table(
            "Tables",
            ["table", "mode", "source rows", "rows", "selected by", "size", "sha256"],
            [
                [
                    k,
                    t.mode,
                    t.source_rows,
                    t.rows,
                    _selected_by(t.selected_by),
                    _size(t.bytes),
                    t.sha256[:12],
                ]
                for k, t in m.tables.items()
            ],
        )
        integ = m.integrity
        self.info(
            f"Integrity: {integ.fk_orphans} FK orphans, {integ.pk_duplicates} "
            f"duplicate keys over {len(integ.checks)} checks"
        )
        if m.excluded_tables:
            self.info(f"Excluded: {', '.join(m.excluded_tables)}")
        self._show_synthesis(m)
        self._show_fidelity(m)
        self._show_redaction(redaction)
        self.info(f"Files: {info.path}")

    def _show_synthesis(self, m: SnapshotManifest) -> None:
        synth = m.stages.get("synthesize")
        if not synth:
            return
        generated = ", ".join(f"{k}={v}" for k, v in synth.get("rows", {}).items()) or "none"
        copies = sum(int(p.get("exact_matches", 0)) for p in synth.get("privacy", {}).values())
        self.info(
            f"Synthesis ({synth['mode']}, scale {synth['scale']}): {generated} synthetic "
            f"rows; {copies} identical to a real row"
        )

    def _show_fidelity(self, m: SnapshotManifest) -> None:
        fid = m.fidelity
        if not fid:
            return
        if fid.get("error"):
            self.info(f"Fidelity was not measured: {fid['error']}")
            return
        reference = fid.get("reference") or {}
        taken = f" taken {reference['profiled_at']}" if reference.get("profiled_at") else ""
        self.info(
            f"Fidelity {fid.get('score', 0):.3f} against a profile of the source{taken} "
            f"(columns {fid.get('columns_score', '-')}, foreign keys "
            f"{fid.get('foreign_keys_score', '-')})"
        )
        worst = fid.get("worst") or []
        if worst:
            self.table(
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

    def _show_redaction(self, red: RedactionReport | None) -> None:
        if not red:
            self.info("Redaction: none (redact.mode: off)")
            return
        self.table(
            f"Redaction ({red.mode} mode, key fingerprint {red.key_fingerprint})",
            ["column", "strategy", "entity", "changed", "rule from"],
            [
                [
                    f"{table}.{column}",
                    c.strategy,
                    c.entity or "-",
                    f"{c.changed}/{c.rows}",
                    _rule_from(c.origin, c.confidence, c.evidence),
                ]
                for table, columns in red.columns.items()
                for column, c in columns.items()
            ],
        )
        gate = red.gate
        if gate is None:
            self.info("Leak gate: not run")
            return
        self.info(
            f"Leak gate: {'passed' if gate.ok else 'FAILED'}; "
            f"{gate.columns_checked} columns checked against "
            f"{gate.originals_checked} original values"
            + (
                f" of {len(gate.personal_columns)} personal column(s)"
                if gate.personal_columns is not None
                else ""
            )
            + "".join(
                f"; k-anonymity of {t.table} over ({', '.join(t.columns)}): k={t.k}"
                for t in gate.k_anonymity.tables
            )
        )
        if gate.coincidences:
            rows = sum(c.rows for c in gate.coincidences)
            self.info(f"  {rows} generated value(s) equal an original by chance (not leaks)")
        for notice in gate.notices or []:
            self.info(
                f"  notice: {notice.table}.{notice.column}: {notice.entity} in {notice.rows} "
                f"row(s) ({notice.check}); if personal, add {notice.rule}"
            )

    def show_verify(self, result: dict[str, Any]) -> None:
        """``data verify``: that the snapshot is intact, or each problem found (on stderr)."""
        if result["ok"]:
            n = len(result["integrity"]["checks"])
            self.info(
                f"Snapshot {result['id']} is intact: checksums, footers and {n} integrity "
                "checks pass."
            )
            return
        for p in result["problems"]:
            self.problem(f"  {p['file']}: {p['problem']}")

    def show_removed(self, removed: list[str]) -> None:
        """``gc``: each leftover removed, or that there was nothing to clean."""
        for item in removed:
            self.info(f"Removed {item}")
        if not removed:
            self.info("Nothing to clean.")


def _foreign_keys(table: dict[str, Any]) -> str:
    return "; ".join(
        f"({', '.join(fk['columns'])}) -> {fk['ref_table']}({', '.join(fk['ref_columns'])})"
        + (" [virtual]" if fk["virtual"] else "")
        for fk in table["foreign_keys"]
    )


def _selected_by(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{r}={n}" for r, n in counts.items()) or "-"


def _rule_from(origin: str, confidence: float | None, evidence: Mapping[str, Any]) -> str:
    """Where a redaction rule came from: config, or detected with confidence and detector."""
    why = origin
    if confidence is not None:
        why += f" {confidence}"
    if evidence.get("source"):
        why += f" by {evidence['source']}"
    return why


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
