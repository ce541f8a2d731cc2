"""Output for people and machines. Core code writes through a Console, never ``print``.

``Output`` (output.py) holds the primitives; the ``show_*`` renderers of each part of the
tool build on them (render_data.py, render_sandbox.py, render_pipeline.py); ``Console`` and
``NoopConsole`` (base.py) put them together; ``TerminalConsole`` (terminal.py) prints with rich.

This package sits at the bottom of the layers: it names the core's result types only for
annotations, and a renderer is handed the data it shows.
"""

from sandboxer.console.base import Console, NoopConsole
from sandboxer.console.terminal import TerminalConsole

__all__ = ["Console", "NoopConsole", "TerminalConsole"]
