"""The Console every command and the core write through, and the one that shows nothing."""

from __future__ import annotations

from sandboxer.console.render_data import DataRenderers
from sandboxer.console.render_pipeline import PipelineRenderers
from sandboxer.console.render_sandbox import SandboxRenderers


class Console(DataRenderers, SandboxRenderers, PipelineRenderers):
    """Where the core reports progress and results (the primitives of ``Output``), and how a
    command's result is shown (the ``show_*`` renderers, written on those primitives, so a
    console that overrides only the primitives shows every command)."""


class NoopConsole(Console):
    """Swallows everything: for library use and tests."""
