"""Where a pydantic error points: its ``loc`` followed through the model tree and the data.

Pydantic's ``loc`` mixes data keys and indexes with union tags; ``locate`` tells them apart
from the types, and finds the type (with its constraints and discriminator) the error is
about. ``validation`` words its messages from what is found here.
"""

from __future__ import annotations

import collections.abc
import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Discriminator, RootModel, Tag
from pydantic.fields import FieldInfo


@dataclass
class Located:
    """Where a pydantic error's loc points, resolved against the model tree and the data."""

    path: list[str | int] = field(default_factory=list)
    """The data path: loc without union tags."""
    annotation: Any = None
    """The type expected at the end, if known."""
    metadata: list[Any] = field(default_factory=list)
    """Constraints (``annotated_types``) on the type at the end."""
    discriminator: Any = None
    """Discriminator of the union at the end, if any."""
    unknown_in: Any = None
    """The model class whose fields a trailing unknown key was checked against."""
    is_key: bool = False
    """The error is about a mapping key, not its value."""


def locate(model_cls: type[BaseModel], data: Any, loc: tuple[str | int, ...]) -> Located:
    """Follow ``loc`` through the model tree (and the data, where the types say nothing).

    Pydantic's loc holds data keys and indexes, plus a tag at each union: the discriminator
    value for a discriminated union, the member's name for a plain one. The tags are dropped
    from the path; the types say which elements are tags.
    """
    where = Located()
    tp: Any = model_cls
    rest = list(loc)
    while True:
        tp, meta, disc = _unwrap(tp)
        where.annotation, where.metadata, where.discriminator = tp, meta, disc
        if not rest:
            return where
        part = rest.pop(0)
        where.unknown_in = None
        if part == "[key]":
            where.is_key = True
            return where
        origin = typing.get_origin(tp) or (tp if isinstance(tp, type) else None)
        args = typing.get_args(tp)
        fields = model_fields(tp)
        if fields is not None:
            where.path.append(part)
            data = data.get(part) if isinstance(data, dict) else None
            found = _field_for(tp, fields, part) if isinstance(part, str) else None
            if found is None:
                where.unknown_in = tp
                tp = None
            else:
                tp = _FieldType(found)
        elif _is_union(tp):
            tp = _union_member(tp, disc, part)
        elif isinstance(part, int) and origin in _SEQUENCES:
            where.path.append(part)
            data = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
            if origin is tuple and args and args[-1] is not Ellipsis:
                tp = args[part] if part < len(args) else None
            else:
                tp = args[0] if args else None
        elif origin in _MAPPINGS:
            where.path.append(part)
            data = data.get(part) if isinstance(data, dict) else None
            if rest and rest[0] == "[key]":
                rest.pop(0)
                where.is_key = True
                where.annotation, where.metadata, where.discriminator = _unwrap(
                    args[0] if args else None
                )
                return where
            tp = args[1] if len(args) == 2 else None
        else:
            # Unknown territory (Any, custom types): trust the data to tell keys from tags.
            in_dict = isinstance(data, dict) and part in data
            in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
            if in_dict or in_list:
                where.path.append(part)
                data = data[part]
            tp = None


_SEQUENCES: set[Any] = {
    list,
    tuple,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.MutableSet,
    collections.abc.Iterable,
    collections.abc.Collection,
}
_MAPPINGS: set[Any] = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def _unwrap(tp: Any) -> tuple[Any, list[Any], Any]:
    """Strip Annotated, Optional, RootModel and type aliases; collect constraints and the
    discriminator on the way."""
    meta: list[Any] = []
    disc: Any = None
    for _ in range(50):  # bounded: aliases can refer to themselves
        if isinstance(tp, _FieldType):
            meta.extend(tp.info.metadata)
            disc = tp.info.discriminator or disc
            tp = tp.info.annotation
            continue
        if typing.get_origin(tp) is typing.Annotated:
            tp, *extras = typing.get_args(tp)
            for extra in extras:
                if isinstance(extra, FieldInfo):
                    meta.extend(extra.metadata)
                    disc = extra.discriminator or disc
                elif isinstance(extra, Discriminator):
                    disc = extra
                else:
                    meta.append(extra)
            continue
        if _is_union(tp):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        if isinstance(tp, type) and issubclass(tp, RootModel):
            root_field = tp.model_fields.get("root")
            if root_field is not None:
                tp = _FieldType(root_field)
                continue
        if type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):
            tp = tp.__value__
            continue
        break
    return tp, meta, disc


@dataclass(frozen=True)
class _FieldType:
    """A field's type with its FieldInfo: pydantic moves a field's ``Field(...)`` constraints
    and discriminator out of its annotation, and ``_unwrap`` must see them."""

    info: FieldInfo


def _is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is typing.Union or origin is types.UnionType


def model_fields(tp: Any) -> dict[str, FieldInfo] | None:
    if not isinstance(tp, type):
        return None
    fields = getattr(tp, "__pydantic_fields__", None)
    return fields if isinstance(fields, dict) else None


def _model_config(tp: Any) -> Mapping[str, Any]:
    config = getattr(tp, "model_config", None) or getattr(tp, "__pydantic_config__", None)
    return config if isinstance(config, Mapping) else {}


def input_names(tp: Any, fields: dict[str, FieldInfo]) -> dict[str, FieldInfo]:
    """The keys a user may write for each field: its alias, and its name where allowed."""
    config = _model_config(tp)
    by_name = bool(config.get("validate_by_name") or config.get("populate_by_name"))
    names: dict[str, FieldInfo] = {}
    for name, fi in fields.items():
        aliases = []
        alias = fi.validation_alias if fi.validation_alias is not None else fi.alias
        if isinstance(alias, str):
            aliases.append(alias)
        elif alias is not None and hasattr(alias, "choices"):
            aliases.extend(c for c in alias.choices if isinstance(c, str))
        if not aliases or by_name:
            names.setdefault(name, fi)
        for a in aliases:
            names.setdefault(a, fi)
    return names


def _field_for(tp: Any, fields: dict[str, FieldInfo], part: str) -> FieldInfo | None:
    names = input_names(tp, fields)
    if part in names:
        return names[part]
    return fields.get(part)


def _union_member(tp: Any, disc: Any, part: str | int) -> Any:
    """The member of union ``tp`` that loc element ``part`` (a tag) selects, or None."""
    members = [a for a in typing.get_args(tp) if a is not type(None)]
    if disc is not None:
        for tag, member in union_tags(members, disc).items():
            if str(tag) == str(part):
                return member
        return None
    for member in members:
        base, _, _ = _unwrap(member)
        if str(part) in (getattr(base, "__name__", None), _tag_of(member)):
            return member
    return None


def _tag_of(member: Any) -> str | None:
    if typing.get_origin(member) is typing.Annotated:
        for extra in typing.get_args(member)[1:]:
            if isinstance(extra, Tag):
                return extra.tag
    return None


def union_tags(members: list[Any], disc: Any) -> dict[str, Any]:
    """Tag value -> union member, for a discriminator field name or ``Discriminator``."""
    name = disc.discriminator if isinstance(disc, Discriminator) else disc
    tags: dict[str, Any] = {}
    for member in members:
        explicit = _tag_of(member)
        if explicit is not None:
            tags[explicit] = member
            continue
        base, _, _ = _unwrap(member)
        fields = model_fields(base)
        if not isinstance(name, str) or fields is None:
            continue
        fi = input_names(base, fields).get(name) or fields.get(name)
        if fi is None:
            continue
        for value in literal_values(fi.annotation):
            tags[str(value.value if isinstance(value, enum.Enum) else value)] = member
    return tags


def literal_values(tp: Any) -> list[Any]:
    tp, _, _ = _unwrap(tp)
    if typing.get_origin(tp) is typing.Literal:
        return list(typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [m.value for m in tp]
    if _is_union(tp):
        return [v for a in typing.get_args(tp) for v in literal_values(a)]
    return []
