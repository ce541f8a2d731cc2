"""What the commands share (SQLMesh ``cli/options.py``): the Context decorator and the
options that more than one command takes, each with one spelling and one help text.

An option whose help depends on the command is a function taking that help; the rest are
plain decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sandboxer.context import Context
from sandboxer.sandbox import BACKEND_NAMES

F = TypeVar("F", bound=Callable[..., Any])

pass_context = click.make_pass_decorator(Context)
"""Hands a callback the invocation's Context (built by the ``sandboxer`` group) first."""

snapshot_ref = click.argument("ref", default="latest", metavar="[ID|NAME|latest]")
"""A published snapshot: an id (or its prefix), a dataset name for its latest, ``latest``."""


def dataset_name(help: str) -> Callable[[F], F]:
    """``--dataset NAME``: read the source through a configured dataset."""
    return click.option("--dataset", "dataset_name", metavar="NAME", help=help)


def snapshot(
    help: str = "Snapshot to load: an id, or a dataset name for its latest (built when it "
    "has none).",
) -> Callable[[F], F]:
    """``--dataset/-d``: the snapshot a sandbox gets."""
    return click.option("--dataset", "-d", metavar="NAME|ID|latest", help=help)


template = click.option(
    "--template",
    "-t",
    metavar="T",
    help="Template (default: sandbox.template; python-duckdb if unset).",
)

backend = click.option(
    "--backend",
    type=click.Choice(["auto", *BACKEND_NAMES]),
    help="Where the sandbox runs (default: $SANDBOXER_BACKEND, else sandbox.backend; auto is "
    "docker when an engine answers).",
)

baseline = click.option(
    "--baseline",
    "-b",
    metavar="ID|REF",
    help="Baseline to compare with (default: the newest for the snapshot).",
)

samples = click.option(
    "--samples",
    type=int,
    default=0,
    show_default=True,
    help="Include up to N differing rows (values of the redacted snapshot).",
)

report_dir = click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where compare.{json,md,junit.xml,html} go (default: reports/ in the run directory).",
)
