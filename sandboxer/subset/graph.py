"""The schema as a graph of foreign keys: virtual keys, cycles, reachability."""

from __future__ import annotations

from collections import defaultdict, deque

from sandboxer.config.models import Keys
from sandboxer.errors import SchemaError, did_you_mean
from sandboxer.sources.schema import ForeignKey, Schema, Table


def check_columns(table: Table, columns: list[str] | tuple[str, ...], where: str) -> None:
    known = table.column_names
    for name in columns:
        if name not in known:
            raise SchemaError(
                f"Unknown column `{name}` of table `{table.key}` in {where}",
                hint=did_you_mean(name, known) or f"Columns: {', '.join(known)}",
            )


def apply_virtual_keys(schema: Schema, keys: Keys) -> Schema:
    """Add the config's declared primary, unique and foreign keys to an introspected schema."""
    for name, columns in keys.primary.items():
        table = schema.table(name)
        check_columns(table, columns, "keys.primary")
        table.primary_key = tuple(columns)
    for name, uniques in keys.unique.items():
        table = schema.table(name)
        for columns in uniques:
            check_columns(table, columns, "keys.unique")
            if tuple(columns) not in table.unique_keys:
                table.unique_keys.append(tuple(columns))
    for i, vfk in enumerate(keys.foreign):
        child = schema.table(vfk.table)
        parent = schema.table(vfk.references)
        check_columns(child, vfk.columns, f"keys.foreign[{i}].columns")
        ref_columns = tuple(vfk.ref_columns or parent.primary_key)
        if not ref_columns:
            raise SchemaError(
                f"keys.foreign[{i}]: `{parent.key}` has no primary key to reference",
                hint="Give ref_columns, or declare it under keys.primary.",
            )
        check_columns(parent, ref_columns, f"keys.foreign[{i}].ref_columns")
        if len(ref_columns) != len(vfk.columns):
            raise SchemaError(
                f"keys.foreign[{i}]: {len(vfk.columns)} column(s) reference "
                f"{len(ref_columns)} key column(s) of `{parent.key}`"
            )
        fk = ForeignKey(child.name, tuple(vfk.columns), parent.name, ref_columns, virtual=True)
        if not any(
            (f.columns, f.ref_table, f.ref_columns) == (fk.columns, fk.ref_table, fk.ref_columns)
            for f in child.foreign_keys
        ):
            child.foreign_keys.append(fk)
    return schema


def cycles(schema: Schema) -> list[list[str]]:
    """Strongly connected components with more than one table, plus self-references."""
    edges: dict[str, set[str]] = defaultdict(set)
    for fk in schema.foreign_keys:
        if fk.ref_table.key in schema.tables:
            edges[fk.table.key].add(fk.ref_table.key)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for start in sorted(schema.tables):
        if start in index:
            continue
        # Iterative Tarjan: (node, iterator over successors).
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    result.append(sorted(component))
    return sorted(result)


def reachable(schema: Schema, roots: set[str], *, follow_children: bool = True) -> set[str]:
    """Tables the closure can reach from ``roots``: parents always, children optionally."""
    parents: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    for fk in schema.foreign_keys:
        parents[fk.table.key].add(fk.ref_table.key)
        children[fk.ref_table.key].add(fk.table.key)
    seen: set[str] = set()
    # (table, reached downward): only rows reached as roots/children pull children.
    queue = deque((r, True) for r in roots)
    visited: set[tuple[str, bool]] = set()
    while queue:
        node, downward = queue.popleft()
        if (node, downward) in visited:
            continue
        visited.add((node, downward))
        seen.add(node)
        for p in parents[node]:
            queue.append((p, False))
        if downward and follow_children:
            for c in children[node]:
                queue.append((c, True))
    return seen


def suggest_root(schema: Schema) -> str | None:
    """The table with the most descendants (children, grandchildren...) among tables that are
    not small lookups: usually the business entity (customers, accounts, users)."""
    from collections import defaultdict

    children: dict[str, set[str]] = defaultdict(set)
    for fk in schema.foreign_keys:
        if fk.table.key != fk.ref_table.key:
            children[fk.ref_table.key].add(fk.table.key)

    def descendants(key: str) -> int:
        seen: set[str] = set()
        stack = [key]
        while stack:
            for c in children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return len(seen)

    candidates = [k for k in schema.tables if not is_lookup(schema, k)] or list(schema.tables)
    if not candidates:
        return None
    return max(candidates, key=lambda k: (descendants(k), schema.tables[k].row_count or 0, k))


def is_lookup(schema: Schema, key: str) -> bool:
    """Small referenced tables (countries, statuses, regions): copy them whole."""
    table = schema.tables[key]
    referenced = any(fk.table.key != key for fk in schema.children_of(key))
    small = table.row_count is not None and table.row_count <= 1000
    return referenced and small
