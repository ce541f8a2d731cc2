"""Synthesis: tables generated from a profile, keeping keys, foreign keys and distributions.

spec.py      what the generator reads from a profile (``sandboxer.profile/1``) and a schema
keys.py      row counts and key functions: unique keys, foreign keys by parent row number
values.py    column values from distributions, patterns, word pools and redaction fakes
generate.py  ``generate`` (whole tables, streamed) and ``fill_in`` (rows added to a subset)
config.py    the ``synthesize:`` section of a dataset
"""

from __future__ import annotations

from sandboxer.synthesize.generate import fill_in, generate

__all__ = ["fill_in", "generate"]
