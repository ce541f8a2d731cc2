"""The shape of a source as sandboxer sees it: tables, columns, keys.

Introspection fills these from the database catalog; ``keys:`` in sandboxer.yaml adds virtual
primary and foreign keys for sources that declare none (files, loose databases).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableName:
    """A table's identity: optional schema plus name, both case-sensitive as stored."""

    name: str
    schema: str | None = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def key(self) -> str:
        """The name used in config, manifests and file names (``schema.name`` or ``name``)."""
        return str(self)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """The source's own type name, for people (e.g. ``integer``, ``VARCHAR``)."""
    nullable: bool = True


@dataclass(frozen=True)
class ForeignKey:
    """``table(columns) -> ref_table(ref_columns)``; composite keys are ordered pairs."""

    table: TableName
    columns: tuple[str, ...]
    ref_table: TableName
    ref_columns: tuple[str, ...]
    name: str | None = None
    virtual: bool = False
    """Declared in config rather than found in the catalog."""

    def __str__(self) -> str:
        return (
            f"{self.table}({', '.join(self.columns)}) -> "
            f"{self.ref_table}({', '.join(self.ref_columns)})"
        )


@dataclass
class Table:
    name: TableName
    columns: list[Column]
    primary_key: tuple[str, ...] = ()
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    row_count: int | None = None
    """Exact count when known (filled by ``Source.count_rows``), else None."""

    @property
    def key(self) -> str:
        return self.name.key

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def row_identity(self) -> tuple[str, ...]:
        """Columns that identify a row: the primary key, else the first unique key whose
        columns are all NOT NULL, else every column."""
        if self.primary_key:
            return self.primary_key
        for uk in self.unique_keys:
            if all(not self.column(c).nullable for c in uk):
                return uk
        return tuple(self.column_names)


@dataclass
class Schema:
    tables: dict[str, Table]
    """Keyed by ``TableName.key``."""

    def table(self, key: str) -> Table:
        """Look a table up by config name; raises SchemaError with a suggestion."""
        from sandboxer.errors import SchemaError, did_you_mean

        if key in self.tables:
            return self.tables[key]
        # Accept an unqualified name when it is unambiguous (``orders`` for ``public.orders``).
        matches = [t for t in self.tables.values() if t.name.name == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(sorted(t.key for t in matches))
            raise SchemaError(f"Table `{key}` is ambiguous: qualify it as one of {names}")
        raise SchemaError(
            f"Unknown table `{key}`",
            hint=did_you_mean(key, list(self.tables) + [t.name.name for t in self.tables.values()])
            or f"Known tables: {', '.join(sorted(self.tables)) or '(none)'}",
        )

    @property
    def foreign_keys(self) -> list[ForeignKey]:
        return [fk for t in self.tables.values() for fk in t.foreign_keys]

    def children_of(self, key: str) -> list[ForeignKey]:
        """Foreign keys that reference table ``key``."""
        return [fk for fk in self.foreign_keys if fk.ref_table.key == key]
