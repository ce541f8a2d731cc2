"""The redaction policy: which strategy each column gets, and why.

Rules come from, in order of precedence: ``redact.columns`` in sandboxer.yaml, the reviewed
policy file, and (mode ``auto``) detection on a sample of each table. Columns joined by foreign
keys form one group and share one rule, so redacted keys keep joining; a column that is part of
a primary or unique key gets a one-to-one mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.models import Redact, RedactMode, RedactRule
from sandboxer.errors import ConfigError, SchemaError, did_you_mean
from sandboxer.redact.entities import Entity
from sandboxer.sources.schema import Schema

if TYPE_CHECKING:
    import polars as pl

    from sandboxer.redact.detect import Finding

# Strategies that cannot keep distinct inputs distinct: not allowed on key columns.
NOT_ONE_TO_ONE = {"mask", "null", "generalize", "noise", "date_shift", "scrub_text", "json", "expr"}
KEEP = "keep"


@dataclass
class ColumnRule:
    table: str
    column: str
    strategy: str
    entity: Entity | None
    params: dict[str, Any]
    origin: str
    """``config``, ``policy``, ``detected`` or ``key group`` (copied from a joined column)."""
    unique: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None

    @property
    def redacts(self) -> bool:
        return self.strategy != KEEP

    def describe(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "entity": self.entity.value if self.entity else None,
            "origin": self.origin,
            "unique": self.unique,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "params": {k: v for k, v in self.params.items() if k != "paths"}
            | ({"paths": sorted(self.params["paths"])} if "paths" in self.params else {}),
        }


@dataclass
class Policy:
    rules: dict[tuple[str, str], ColumnRule]
    """Only columns with a rule (explicit or detected); others are kept."""

    def for_table(self, table: str) -> list[ColumnRule]:
        return [r for (t, _), r in sorted(self.rules.items()) if t == table and r.redacts]


def _entity(name: str | None, where: str) -> Entity | None:
    if name is None:
        return None
    try:
        return Entity(name)
    except ValueError:
        names = [e.value for e in Entity]
        raise ConfigError(
            f"Unknown entity `{name}` in {where}",
            hint=did_you_mean(name, names) or f"Entities: {', '.join(names)}",
        ) from None


def _rule_from(
    value: str | RedactRule | dict[str, Any], table: str, column: str, origin: str
) -> ColumnRule:
    from sandboxer.redact.strategies import STRATEGIES

    if isinstance(value, str):
        strategy, entity_name, params = value, None, {}
    elif isinstance(value, RedactRule):
        strategy, entity_name = value.strategy, value.entity
        params = dict(value.model_extra or {})
    else:
        params = dict(value)
        strategy, entity_name = params.pop("strategy", KEEP), params.pop("entity", None)
    where = f"redact.columns.{table}.{column}"
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"Unknown strategy `{strategy}` in {where}",
            hint=did_you_mean(strategy, STRATEGIES) or f"Strategies: {', '.join(STRATEGIES)}",
        )
    return ColumnRule(table, column, strategy, _entity(entity_name, where), params, origin)


def load_policy_file(path: Path) -> dict[str, dict[str, Any]]:
    """A policy file: ``{version: 1, columns: {table: {column: rule}}}``."""
    from sandboxer.config.yamlfile import load_yaml

    loaded = load_yaml(
        path, missing_hint="Write one with `sandboxer data scan --pii --write-policy PATH`."
    )
    data = loaded.data
    unknown = set(data) - {"version", "columns", "mode"}
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {', '.join(sorted(unknown))} in policy file", path=str(path)
        )
    columns = data.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, dict) for v in columns.values()):
        raise ConfigError("`columns` must map table -> column -> rule", path=str(path))
    return columns


def resolve(
    cfg: Redact,
    schema: Schema,
    samples: dict[str, pl.DataFrame],
    *,
    base: Path,
    detect: Any = None,
) -> Policy:
    """Build the policy for the included tables of ``schema``.

    ``samples`` holds a sample of each table for detection (mode auto); ``detect`` is the
    detection function (``detect_frame``), injectable for tests.
    """
    rules: dict[tuple[str, str], ColumnRule] = {}
    explicit: list[tuple[dict[str, Any], str]] = []
    if cfg.policy_file:
        path = Path(cfg.policy_file)
        explicit.append((load_policy_file(path if path.is_absolute() else base / path), "policy"))
    explicit.append((cfg.columns, "config"))
    for columns, origin in explicit:
        for table_name, cols in columns.items():
            table = schema.table(table_name)
            for column, value in cols.items():
                if column not in table.column_names:
                    raise SchemaError(
                        f"Unknown column `{column}` of `{table.key}` in redaction {origin}",
                        hint=did_you_mean(column, table.column_names)
                        or f"Columns: {', '.join(table.column_names)}",
                    )
                rules[(table.key, column)] = _rule_from(value, table.key, column, origin)

    if cfg.mode is RedactMode.strict:
        missing = [
            f"{t.key}.{c}"
            for t in schema.tables.values()
            for c in t.column_names
            if (t.key, c) not in rules
        ]
        if missing:
            shown = ", ".join(missing[:15]) + (
                f" and {len(missing) - 15} more" if len(missing) > 15 else ""
            )
            raise ConfigError(
                f"Redaction mode strict: {len(missing)} column(s) have no explicit rule: {shown}",
                hint="Review and add them (use `keep` for columns without personal data); "
                "`sandboxer data scan --pii --write-policy policy.yaml` writes a starting point.",
            )
    elif cfg.mode is RedactMode.auto:
        if detect is None:
            from sandboxer.redact.detect import detect_frame as detect
        keys = _key_columns(schema)
        for key, sample in sorted(samples.items()):
            # Explicitly kept columns are scanned too: when detection disagrees with a `keep`,
            # the leak gate asks for a reviewed allowlist entry.
            todo = [
                c for c in sample.columns if (key, c) not in rules or not rules[(key, c)].redacts
            ]
            if not todo:
                continue
            findings: dict[str, list[Finding]] = detect(
                sample.select(todo), threshold=cfg.threshold, table=key.split(".")[-1]
            )
            for column, found in findings.items():
                if not found or found[0].confidence < cfg.threshold:
                    continue
                best = found[0]
                kept = rules.get((key, column))
                if kept is not None:
                    kept.evidence = dict(best.evidence) | {
                        "source": best.source,
                        "detected_entity": best.entity.value,
                    }
                    kept.confidence = round(best.confidence, 3)
                    continue
                strategy, params, fitted = fit_to_type(
                    best,
                    sample.get_column(column),
                    key_column=(key, column) in keys,
                    nullable=schema.tables[key].column(column).nullable,
                )
                rules[(key, column)] = ColumnRule(
                    key,
                    column,
                    strategy,
                    best.entity,
                    params,
                    "detected",
                    evidence=dict(best.evidence) | {"source": best.source} | fitted,
                    confidence=round(best.confidence, 3),
                )
    _propagate_key_groups(rules, schema)
    return Policy(rules)


def _key_columns(schema: Schema) -> set[tuple[str, str]]:
    return {
        (t.key, c)
        for t in schema.tables.values()
        for key in [t.primary_key, *t.unique_keys]
        for c in key
    }


def fit_to_type(
    finding: Finding, sample: pl.Series, *, key_column: bool = False, nullable: bool = True
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The strategy and params auto mode gives a detected column: the finding's suggestion
    when it works on the column's type and sampled values, else ``hash`` (keyed, one-to-one,
    and defined for every type). Returns ``(strategy, params, evidence)``; the evidence says
    what was changed and why (``fitted_from``), as names and counts only.

    Dates stored as text must parse; a key column needs a one-to-one strategy and a NOT NULL
    column one that keeps values (``null`` would break it); JSON leaves
    get their entity's strategy where it fits the leaf (text leaves that are not strings in
    some documents are left out and counted: the leak gate's re-scan covers them).
    """
    import polars as pl

    from sandboxer.redact.strategies import STRATEGIES, strategies_for

    strategy = finding.suggested_strategy
    fitted: dict[str, Any] = {}
    params: dict[str, Any] = {}
    values = _leaf_values(sample)
    if strategy == "json" and finding.json_paths:
        if values.dtype == pl.String:
            params["not_json"] = "scrub_text"
        params["paths"], skipped = _json_leaf_rules(finding, sample)
        if skipped:
            fitted["paths_not_strings"] = skipped
        if not params["paths"]:
            params = {}
    reason = None
    if strategy not in strategies_for(sample.dtype) or (
        strategy == "fake"
        and values.dtype.is_integer()
        and finding.entity.value not in _FORMAT_FAKES
    ):
        reason = "type"
    elif strategy in ("date_shift", "generalize") and values.dtype == pl.String:
        from sandboxer.redact.dtypes import TextDates

        if TextDates.parse(values).unparsed:
            reason = "values"
    elif strategy == "json" and not params:
        reason = "values"
    elif key_column and strategy in NOT_ONE_TO_ONE:
        reason = "key"
    elif strategy == "null" and not nullable:
        reason = "not_null"
    if reason is not None:
        fitted |= {"fitted_from": strategy, "fitted_for": reason}
        strategy, params = "hash", {}
    assert strategy in STRATEGIES
    return strategy, params, fitted


_FORMAT_FAKES = {"national_id", "postcode", "account_number"}


def _leaf_values(sample: pl.Series) -> pl.Series:
    """The values inside lists (what an elementwise strategy sees)."""
    import polars as pl

    while isinstance(sample.dtype, pl.List | pl.Array):
        sample = sample.explode() if isinstance(sample.dtype, pl.List) else sample.arr.explode()
    return sample


def _json_leaf_rules(finding: Finding, sample: pl.Series) -> tuple[dict[str, Any], int]:
    """Per detected path, the entity's own strategy where it works on the leaves, else
    ``hash``; paths of JSON text with leaves the json strategy cannot rewrite (objects,
    booleans, numbers under `*`) are skipped (counted)."""
    import polars as pl

    from sandboxer.redact.dtypes import TextDates, parse_path
    from sandboxer.redact.entities import DEFAULT_STRATEGY
    from sandboxer.redact.strategies import FAKE_ENTITIES, json_leaves, strategies_for

    rules: dict[str, Any] = {}
    skipped = 0
    docs = _leaf_values(sample)
    for path in finding.json_paths:
        name = finding.evidence.get(path)
        try:
            entity = Entity(str(name))
        except ValueError:
            rules[path] = "null"
            continue
        strategy = DEFAULT_STRATEGY.get(entity, "hash")
        if strategy in ("json", "scrub_text") or (
            strategy == "fake" and entity.value not in FAKE_ENTITIES
        ):
            strategy = "hash"
        if docs.dtype == pl.String:
            leaves = json_leaves(docs, path)
            steps = parse_path(path)
            numbers = ["BIGINT", "UBIGINT", "DOUBLE"]
            if steps is None or any(s in ("*", "[*]") for s in steps):
                numbers = []  # numbers are patched at key paths only
            if leaves.filter(~pl.col("t").is_in(["VARCHAR", "NULL", *numbers])).height:
                skipped += 1
                continue
            found = [leaves.filter(pl.col("t") != "NULL").get_column("leaf")]
        else:
            steps = parse_path(path)
            found = _path_values(docs, steps) if steps is not None else []
        ok = all(strategy in strategies_for(v.dtype) for v in found)
        if ok and strategy in ("date_shift", "generalize"):
            ok = all(
                v.dtype != pl.String or not TextDates.parse(_leaf_values(v)).unparsed for v in found
            )
        if not ok:
            strategy = "hash"
        rules[path] = (
            {"strategy": strategy, "entity": entity.value} if strategy == "fake" else strategy
        )
    return rules, skipped


def _path_values(docs: pl.Series, steps: list[str]) -> list[pl.Series]:
    """The leaf columns a path reaches in a struct column (one per field it names)."""
    from sandboxer.redact.dtypes import map_path

    found: list[pl.Series] = []

    def collect(values: pl.Series) -> pl.Series:
        found.append(values)
        return values

    map_path(docs, steps, collect)
    return found


def _propagate_key_groups(rules: dict[tuple[str, str], ColumnRule], schema: Schema) -> None:
    """One rule per FK-joined column group; one-to-one mappings on key columns."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for fk in schema.foreign_keys:
        if fk.table.key not in schema.tables or fk.ref_table.key not in schema.tables:
            continue
        for c, rc in zip(fk.columns, fk.ref_columns, strict=True):
            a, b = find((fk.table.key, c)), find((fk.ref_table.key, rc))
            if a != b:
                parent[a] = b
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for member in list(parent):
        groups.setdefault(find(member), []).append(member)

    key_columns = _key_columns(schema)
    for members in groups.values():
        chosen = [rules[m] for m in sorted(members) if m in rules and rules[m].redacts]
        if not chosen:
            continue
        signatures = {(r.strategy, r.entity, repr(sorted(r.params.items()))) for r in chosen}
        if len(signatures) > 1:
            names = ", ".join(f"{r.table}.{r.column} ({r.strategy})" for r in chosen)
            raise ConfigError(
                f"Columns joined by foreign keys have different redaction rules: {names}",
                hint="Give them the same strategy and entity, so the keys still join.",
            )
        rule = chosen[0]
        unique = any(m in key_columns for m in members)
        for table, column in sorted(members):
            existing = rules.get((table, column))
            if existing is None or not existing.redacts:
                rules[(table, column)] = ColumnRule(
                    table,
                    column,
                    rule.strategy,
                    rule.entity,
                    dict(rule.params),
                    "key group",
                    evidence={"joined_with": f"{rule.table}.{rule.column}"},
                )
        for table, column in members:
            rules[(table, column)].unique = unique
    for (table, column), rule in rules.items():
        if (table, column) in key_columns:
            rule.unique = True
        if rule.unique and rule.strategy in NOT_ONE_TO_ONE:
            raise ConfigError(
                f"`{table}.{column}` is part of a key, and strategy `{rule.strategy}` would "
                "map different values to the same one",
                hint="Use `hash`, `format` or `fake` (one-to-one with a secret key), or `keep`.",
            )
        if rule.strategy == "drop" and (table, column) in {m for ms in groups.values() for m in ms}:
            raise ConfigError(
                f"`{table}.{column}` takes part in a foreign key and cannot be dropped",
                hint="Use `hash` or `format` to pseudonymize it.",
            )
        if rule.strategy == "null" and not schema.tables[table].column(column).nullable:
            raise ConfigError(
                f"`{table}.{column}` is NOT NULL; strategy `null` would break it",
                hint="Use `fake`, `mask` or `hash`.",
            )
