"""Profiles and fidelity: the shape of production, and how close a snapshot comes to it.

profile.py   ``profile_frames`` / ``profile_source`` / ``profile_snapshot``: a privacy-safe
             JSON profile (``sandboxer.profile/1``, see docs/profile.md)
fidelity.py  ``fidelity``: per-column distances between two profiles and a score in [0, 1];
             ``synthetic_privacy``: copied rows and distance to the closest real record
"""

from __future__ import annotations

from sandboxer.profile.fidelity import fidelity, ks_from_quantiles, synthetic_privacy
from sandboxer.profile.profile import (
    FORMAT,
    ProfileSettings,
    fanout,
    profile_frames,
    profile_snapshot,
    profile_source,
)

__all__ = [
    "FORMAT",
    "ProfileSettings",
    "fanout",
    "fidelity",
    "ks_from_quantiles",
    "profile_frames",
    "profile_snapshot",
    "profile_source",
    "synthetic_privacy",
]
