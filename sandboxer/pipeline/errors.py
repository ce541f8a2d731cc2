"""Errors of the pipeline: planning (lineage, transpiling) and running steps."""

from __future__ import annotations

from sandboxer.errors import SandboxerError


class PipelineError(SandboxerError):
    """The pipeline cannot be planned or run as configured."""


class TranspileError(PipelineError):
    """A SQL file cannot be parsed, or cannot be expressed in the sandbox's engine."""

    def __init__(
        self, path: str, line: int | None, engine: str, reason: str, *, hint: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"SQL in {where} cannot run on {engine}: {reason}", hint=hint)
        self.path = path
        self.line = line
        self.engine = engine
        self.reason = reason
