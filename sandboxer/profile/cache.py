"""Source profiles kept between builds, valid while the source's data has not changed.

Profiling production is the expensive half of measuring fidelity (a sampled read of every
large table, foreign-key fan-out over whole tables); the snapshot's half is small. A profile
is stored under the store's cache directory, keyed by everything that decides its content (the
source's identity without credentials, the schema with its keys, the sample size and seed, the
personal columns, the settings), together with the source's ``state()`` token when it was
taken. A later build reuses it only when the token is the same now: the files' sizes and
modification times (files, DuckDB, SQLite) or the tables' change counters (PostgreSQL). A
source that cannot tell (``state()`` is None) is profiled on every build.

A cached profile holds what ``data profile`` shows (no value of a personal column: the
build's personal columns are decided on the source's values, so a column the subset left
empty is personal too) and goes through the leak gate before it is kept: ``check`` (the
build's stages' ``check_file``) searches the written file for every original of the dataset
and refuses it, the entry never becoming visible. An entry records that it was checked
(``"gate": true``); one that was not (an older sandboxer's, a build without redaction) is
never reused by a redacted build, and ``data gc`` removes it (``snapshot.store``). Entries are
written atomically; an unreadable one counts as missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.profile.profile import DEFAULTS, FORMAT, ProfileSettings, profile_source

if TYPE_CHECKING:
    from sandboxer.sources.base import Source
    from sandboxer.sources.schema import Schema


def cache_key(
    source: Source,
    schema: Schema,
    *,
    sample_rows: int,
    seed: int,
    pii_columns: Iterable[tuple[str, str]],
    detect: bool,
    settings: ProfileSettings,
) -> str:
    """What decides a source profile's content, hashed (no credentials: the display URL)."""
    from sandboxer.snapshot.manifest import TableSchema

    content = {
        "format": FORMAT,
        "source": source.identity(),
        # Columns, types and every key, virtual ones included.
        "schema": {
            k: TableSchema.from_table(t).to_dict() for k, t in sorted(schema.tables.items())
        },
        "sample_rows": sample_rows,
        "seed": seed,
        "pii": sorted(map(list, pii_columns)),
        "detect": detect,
        "settings": asdict(settings),
    }
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_source_profile(
    source: Source,
    schema: Schema,
    directory: Path | None,
    *,
    sample_rows: int,
    seed: int = 0,
    pii_columns: Iterable[tuple[str, str]] = (),
    detect: bool = True,
    settings: ProfileSettings = DEFAULTS,
    check: Callable[[Path], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The profile of an open source, from ``directory`` when a profile taken in the same
    source state is there, else freshly taken (and stored). Returns ``(profile, reference)``;
    ``reference`` says when the profile was taken and whether it came from the cache.

    ``check`` is called on the written entry before it is kept (the leak gate); what it
    raises propagates, and the entry is removed. With ``check``, only entries that were
    checked are reused."""
    pii = sorted(set(pii_columns))
    state = source.state(schema) if directory is not None else None
    path = None
    if directory is not None and state is not None:
        key = cache_key(
            source,
            schema,
            sample_rows=sample_rows,
            seed=seed,
            pii_columns=pii,
            detect=detect,
            settings=settings,
        )
        path = directory / f"{key}.json"
        entry = _read(path)
        reusable = entry is not None and (check is None or entry.get("gate") is True)
        if reusable and entry is not None and entry.get("state") == state:
            _touch(path)
            return entry["profile"], {"profiled_at": entry["profiled_at"], "cached": True}
    profiled_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    profile = profile_source(
        source,
        schema,
        sample_rows=sample_rows,
        seed=seed,
        pii_columns=pii,
        detect=detect,
        settings=settings,
    )
    if path is not None:
        entry = {"state": state, "profiled_at": profiled_at, "profile": profile}
        _write(path, entry | {"gate": check is not None}, check)
    return profile, {"profiled_at": profiled_at, "cached": False}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None
    ok = (
        isinstance(entry, dict)
        and isinstance(entry.get("profile"), dict)
        and entry["profile"].get("format") == FORMAT
        and isinstance(entry.get("profiled_at"), str)
    )
    return entry if ok else None


def _touch(path: Path) -> None:
    """Mark an entry as used now: ``data gc`` removes entries unused for a while."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _write(path: Path, entry: dict[str, Any], check: Callable[[Path], None] | None) -> None:
    """Atomically, once ``check`` has passed on the written file; a cache that cannot be
    written is only a slower next build, a refused one is removed and the refusal raised."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(entry, f, sort_keys=True, default=str)
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        # An older entry under the same key holds the same profile: it goes too.
        path.unlink(missing_ok=True)
        raise
