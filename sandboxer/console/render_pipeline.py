"""How the pipeline commands show their results: a run, baselines, report files, ``test``.

A comparison's own terminal rendering lives with its other formats in compare/reports.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sandboxer.console.output import Output

if TYPE_CHECKING:
    from sandboxer.pipeline.flow import TestOutcome
    from sandboxer.pipeline.runner import RunResult
    from sandboxer.snapshot.baselines import BaselineInfo


class PipelineRenderers(Output):
    """The ``show_*`` renderers of ``run``, ``baseline``, ``compare`` and ``test``."""

    def show_run(self, result: RunResult) -> None:
        """``run``: each step's status and time; where the outputs are when it passed."""
        self.table(
            f"Run {result.run_id}",
            ["step", "kind", "status", "seconds"],
            [[s.name, s.kind, s.status, s.seconds] for s in result.steps],
        )
        if result.ok:
            self.info(f"Outputs: {result.run_dir / 'outputs'}. Next: `sandboxer compare`.")

    def show_baseline_captured(self, info: BaselineInfo) -> None:
        """``baseline capture``: the baseline stored, its snapshot, commit and origin."""
        m = info.manifest
        self.info(
            f"Baseline {info.id}: snapshot {m.snapshot_id}, commit "
            f"{(m.commit or '-')[:12]}{' (dirty)' if m.dirty else ''}, "
            f"{len(m.outputs)} output(s), from {m.origin}"
        )

    def show_baselines(self, infos: Iterable[BaselineInfo]) -> None:
        """``baseline list``: one row per baseline."""
        self.table(
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

    def show_baseline(self, info: BaselineInfo, problems: list[str]) -> None:
        """``baseline show``: its outputs, and that their checksums hold (when no
        ``problems``)."""
        m = info.manifest
        self.info(
            f"Baseline {info.id} ({m.origin}), snapshot {m.snapshot_id}, commit {m.commit or '-'}"
        )
        self.table(
            "Outputs",
            ["output", "rows", "sha256"],
            [[k, v.rows, v.sha256[:12]] for k, v in sorted(m.outputs.items())],
        )
        if not problems:
            self.info("Checksums verified.")

    def show_reports(self, paths: Iterable[Path | str]) -> None:
        """The report files a comparison wrote."""
        self.info("Reports: " + ", ".join(str(p) for p in paths))

    def show_test(self, outcome: TestOutcome) -> None:
        """``test``: each data and code test, the reports, and the verdict with its reasons."""
        for t in outcome.tests:
            mark = "ok  " if t["passed"] else "FAIL"
            extra = f" ({t['failing_rows']} failing rows)" if t.get("failing_rows") else ""
            self.info(f"  {mark} {t['name']}{extra}")
        if outcome.reports:
            self.show_reports(outcome.reports.values())
        if outcome.passed:
            self.info("sandboxer test: PASSED")
        else:
            self.info("sandboxer test: FAILED: " + "; ".join(outcome.reasons))
