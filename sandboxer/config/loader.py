"""Load YAML config files and validate them against pydantic models, with errors for people.

Two steps, usable apart:

* ``load_yaml`` parses with a ``yaml.SafeLoader`` subclass, rejects duplicate keys, caps the
  file size, interpolates ``${ENV_VAR}`` references in string values and records the line of
  every key and list item, so that any path into the data maps back to the file.
* ``validate`` runs ``model_validate`` and rewords each pydantic error as one line naming the
  dotted path, the reason and ``file:line``, with a suggestion for misspelt keys.

Values that came from the environment are treated as secrets: no message echoes them.
"""

from __future__ import annotations

import collections.abc
import contextlib
import datetime
import enum
import os
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import annotated_types
import yaml
from pydantic import BaseModel, Discriminator, RootModel, Tag, ValidationError
from pydantic.fields import FieldInfo

from sandboxer.errors import ConfigError, did_you_mean

M = TypeVar("M", bound=BaseModel)

PathKey = tuple[str | int, ...]
"""A path into loaded data: mapping keys (str) and list indexes (int)."""

INIT_HINT = "Run `sandboxer init` to create one."
"""The ``missing_hint`` to pass when loading sandboxer.yaml."""

MAX_ERRORS = 20
"""Validation errors listed before the rest are summarised as "... and N more"."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"

_MIN_SCRUB_LEN = 4
"""Secret values at least this long are blanked out of validator-written messages too; shorter
ones would mangle numbers and words in unrelated text."""


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed config file: plain data plus where each value came from."""

    path: Path
    data: dict[str, Any] = field(repr=False)
    """Plain dicts, lists and scalars. Mapping keys are always strings."""
    lines: dict[PathKey, int] = field(repr=False)
    """1-based line of every mapping key and list item; ``()`` is the top-level mapping."""
    secret_paths: frozenset[PathKey] = field(default=frozenset(), repr=False)
    """Paths of string values that had ``${...}`` references interpolated."""
    secret_values: frozenset[str] = field(default=frozenset(), repr=False)
    """The values substituted from the environment, to keep them out of any message."""

    def line_of(self, path: PathKey) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def is_secret(self, path: PathKey) -> bool:
        """Whether ``path`` is, or contains, or lies inside, an interpolated value."""
        n = len(path)
        return any(s[:n] == path or path[: len(s)] == s for s in self.secret_paths)


def format_path(path: Iterable[str | int]) -> str:
    """``('dataset', 'roots', 0, 'percent')`` -> ``dataset.roots[0].percent``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


# --------------------------------------------------------------------------------------------
# Loading


class _Problem(Exception):
    """Raised inside the walk for a problem that stops it; collected problems do not raise."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Loader(yaml.SafeLoader):
    """A SafeLoader that builds the document itself, to see the path and line of every node.

    PyYAML's own constructor neither knows where in the document a node sits nor rejects
    duplicate keys, so mappings and sequences are walked here; scalars and explicitly tagged
    nodes (``!!set``, ``!!binary``...) still go through the safe constructors.
    """

    def __init__(self, stream: bytes, *, env: Mapping[str, str], max_nodes: int) -> None:
        super().__init__(stream)
        self.env = env
        self.lines: dict[PathKey, int] = {}
        self.secret_paths: set[PathKey] = set()
        self.secret_values: set[str] = set()
        self.problems: list[tuple[str, int | None]] = []
        self.unset_vars: list[str] = []
        self._budget = max_nodes
        self._open: set[int] = set()
        self._merging: set[int] = set()
        self._pairs_cache: dict[int, tuple[list[Any], list[Any]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Only reached for explicitly tagged mappings (``!!set``); plain ones go through build().
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                key = self.construct_object(key_node)
                if key in seen:
                    raise _Problem(f"Duplicate key '{key}'", _line(key_node))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        """Plain data for ``node`` at ``path``; records lines, secrets and problems."""
        self._budget -= 1
        if self._budget < 0:
            raise _Problem(
                "The document expands to too many values (are anchors and aliases nested?)",
                _line(node),
            )
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            with self._entered(node, self._open):
                return self._build_mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            with self._entered(node, self._open):
                items = []
                for index, item in enumerate(node.value):
                    self.lines[(*path, index)] = _line(item)
                    items.append(self.build(item, (*path, index)))
                return items
        value = self.construct_object(node, deep=True)
        if isinstance(value, str) and node.tag == _STR_TAG:
            return self._interpolate(value, path, _line(node))
        return value

    @contextlib.contextmanager
    def _entered(self, node: yaml.Node, open_nodes: set[int]) -> Iterator[None]:
        """Guard against alias cycles (``&a [*a]``), which would otherwise walk forever."""
        if id(node) in open_nodes:
            raise _Problem("An alias refers to a node that contains it", _line(node))
        open_nodes.add(id(node))
        try:
            yield
        finally:
            open_nodes.discard(id(node))

    def _build_mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        merged, explicit = self._pairs(node)
        chosen: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in merged:
            chosen[self._key(key_node)] = (key_node, value_node)
        explicit_lines: dict[str, int] = {}
        for key_node, value_node in explicit:
            key = self._key(key_node)
            if key in explicit_lines:
                where = f"'{format_path(path)}'" if path else "the top level"
                self.problems.append(
                    (
                        f"Duplicate key '{key}' in {where}, first set on line "
                        f"{explicit_lines[key]}",
                        _line(key_node),
                    )
                )
                continue
            explicit_lines[key] = _line(key_node)
            chosen[key] = (key_node, value_node)
        data: dict[str, Any] = {}
        for key, (key_node, value_node) in chosen.items():
            self.lines[(*path, key)] = _line(key_node)
            data[key] = self.build(value_node, (*path, key))
        return data

    def _pairs(self, node: yaml.MappingNode) -> tuple[list[Any], list[Any]]:
        """(pairs merged in by ``<<``, pairs written in the mapping), without mutating nodes.

        PyYAML's ``flatten_mapping`` rewrites nodes in place, which would make a mapping that
        is both merged and walked look different the second time.
        """
        cached = self._pairs_cache.get(id(node))
        if cached is not None:
            return cached
        merged: list[Any] = []
        explicit: list[Any] = []
        with self._entered(node, self._merging):
            for key_node, value_node in node.value:
                if key_node.tag != _MERGE_TAG:
                    explicit.append((key_node, value_node))
                    continue
                if isinstance(value_node, yaml.MappingNode):
                    sources = [value_node]
                elif isinstance(value_node, yaml.SequenceNode):
                    sources = value_node.value
                else:
                    sources = [None]  # type: ignore[list-item]
                # Earlier mappings in a merge list win, so apply them last.
                for source in reversed(sources):
                    if not isinstance(source, yaml.MappingNode) or source.tag != _MAP_TAG:
                        raise _Problem(
                            "'<<' must merge a mapping or a list of mappings", _line(value_node)
                        )
                    source_merged, source_explicit = self._pairs(source)
                    merged.extend(source_merged + source_explicit)
        self._pairs_cache[id(node)] = (merged, explicit)
        return merged, explicit

    def _key(self, node: yaml.Node) -> str:
        # Keys stay the text written: YAML 1.1 would read `on:`/`no:` as booleans and `1:` as
        # an int, which no config key means; pydantic coerces str keys where a model wants ints.
        if not isinstance(node, yaml.ScalarNode):
            raise _Problem("Mapping keys must be plain names, not lists or mappings", _line(node))
        return str(node.value)

    def _interpolate(self, text: str, path: PathKey, line: int) -> str:
        if "$" not in text:
            return text
        out: list[str] = []
        pos = 0
        used = False
        for match in _REFERENCE.finditer(text):
            out.append(text[pos : match.start()])
            pos = match.end()
            if match.group(0) == "$${":
                out.append("${")
                continue
            body = match.group("body")
            parsed = _BODY.fullmatch(body) if body is not None else None
            if parsed is None or "${" in (parsed.group("default") or ""):
                # The text is not echoed: it may be a literal password that happens to hold ${.
                self.problems.append(
                    (
                        f"Invalid variable reference in '{format_path(path)}': write ${{NAME}} "
                        "or ${NAME:-default}, or $${ for a literal ${",
                        line,
                    )
                )
                return text
            name, default = parsed.group("name"), parsed.group("default")
            value = self.env.get(name)
            if value is None or (value == "" and default is not None):
                if default is None:
                    self.problems.append(
                        (
                            f"Environment variable '{name}' is not set "
                            f"(used by '{format_path(path)}')",
                            line,
                        )
                    )
                    if name not in self.unset_vars:
                        self.unset_vars.append(name)
                    continue
                value = default
            elif value:
                # Defaults are written in the file; values from the environment are the secrets.
                self.secret_values.add(value)
            out.append(value)
            used = True
        out.append(text[pos:])
        if used:
            self.secret_paths.add(path)
        return "".join(out)


_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def load_yaml(
    path: Path,
    *,
    max_bytes: int = 1_000_000,
    env: Mapping[str, str] | None = None,
    missing_hint: str | None = None,
) -> LoadedYaml:
    """Read a YAML config file whose top level is a mapping.

    ``${VAR}`` in a string value is replaced by the environment variable (an error when unset),
    ``${VAR:-default}`` falls back to ``default`` when unset or empty, ``$${`` is a literal
    ``${``. Keys are never interpolated. ``env`` defaults to ``os.environ``.

    Raises ``ConfigError`` (with file and line) for a missing file (with ``missing_hint``), a
    file over ``max_bytes``, a YAML syntax error, duplicate keys, unset variables, or a top
    level that is not a mapping.
    """
    source = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError("Config file not found", path=source, hint=missing_hint) from None
    except IsADirectoryError:
        raise ConfigError("Config path is a directory, not a file", path=source) from None
    except OSError as e:
        raise ConfigError(f"Cannot read config file: {e.strerror}", path=source) from None
    if len(raw) > max_bytes:
        raise ConfigError(
            f"Config file is larger than the limit of {max_bytes:,} bytes",
            path=source,
            hint="Config files hold settings, not data; move large lists into the source.",
        )

    # Without aliases every value takes at least two bytes, so this only stops alias bombs.
    max_nodes = max(max_bytes, 10_000)
    loader: _Loader | None = None
    try:
        # The reader decodes as soon as it is created, so creating it can fail too.
        loader = _Loader(raw, env=os.environ if env is None else env, max_nodes=max_nodes)
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("Config file is empty; expected a mapping of settings", path=source)
        if not (isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise ConfigError(
                f"Expected a mapping of settings (key: value) at the top level, got {kind}",
                path=source,
                line=_line(node),
            )
        loader.lines[()] = _line(node)
        data = loader.build(node, ())
    except _Problem as e:
        raise ConfigError(e.message, path=source, line=e.line) from None
    except yaml.MarkedYAMLError as e:
        tabs = "'\\t'" in str(e.problem)
        hint = "Indent YAML with spaces; tabs are not allowed." if tabs else None
        raise ConfigError(_yaml_message(e), path=source, line=_mark_line(e), hint=hint) from None
    except yaml.reader.ReaderError as e:
        line = raw[: e.position].count(b"\n") + 1 if isinstance(e.position, int) else None
        raise ConfigError(
            f"Config file is not valid text: {e.reason}", path=source, line=line
        ) from None
    except yaml.YAMLError as e:  # anything else PyYAML raises, without its snippet
        raise ConfigError(f"Invalid YAML: {type(e).__name__}", path=source) from None
    except RecursionError:
        raise ConfigError("Config file is nested too deeply", path=source) from None
    finally:
        if loader is not None:
            loader.dispose()

    if loader.problems:
        hint = None
        if loader.unset_vars:
            hint = "export " + " ".join(f"{name}=..." for name in loader.unset_vars)
        raise _combined(loader.problems, source, hint=hint)
    return LoadedYaml(
        path=path,
        data=data,
        lines=loader.lines,
        secret_paths=frozenset(loader.secret_paths),
        secret_values=frozenset(loader.secret_values),
    )


def _mark_line(e: yaml.MarkedYAMLError) -> int | None:
    mark = e.problem_mark or e.context_mark
    return int(mark.line) + 1 if mark is not None else None


def _yaml_message(e: yaml.MarkedYAMLError) -> str:
    # Only PyYAML's short descriptions: its str() adds a snippet of the file, which may hold
    # a literal secret.
    problem, context = e.problem, e.context
    if problem and context and not context.startswith("while "):
        # "expected a single document in the stream" + "but found another document"
        return f"Invalid YAML: {context}, {problem}"
    message = f"Invalid YAML: {problem or context or 'syntax error'}"
    if problem and context:
        message += f" ({context}"
        if e.context_mark is not None and e.context_mark.line != getattr(
            e.problem_mark, "line", None
        ):
            message += f" on line {e.context_mark.line + 1}"
        message += ")"
    return message


def _combined(
    problems: list[tuple[str, int | None]],
    source: str,
    *,
    hint: str | None = None,
    suffixes: list[str] | None = None,
) -> ConfigError:
    """One ConfigError for one or more (message, line) problems, each with its location."""
    rendered = []
    for index, (message, line) in enumerate(problems):
        location = f" ({source}:{line})" if line else f" ({source})"
        suffix = suffixes[index] if suffixes else ""
        rendered.append(f"{message}{location}{suffix}")
    if len(rendered) == 1:
        text = rendered[0]
    else:
        shown = rendered[:MAX_ERRORS]
        if len(rendered) > MAX_ERRORS:
            shown.append(f"... and {len(rendered) - MAX_ERRORS} more")
        text = f"{len(rendered)} problems in {source}:\n  " + "\n  ".join(shown)
    error = ConfigError(text, hint=hint)
    # Structured context for callers; the message already holds the locations.
    error.path = source
    error.line = problems[0][1]
    return error


# --------------------------------------------------------------------------------------------
# Validation


def validate(model_cls: type[M], loaded: LoadedYaml, *, root: PathKey = ()) -> M:
    """Validate ``loaded.data`` (or the part at ``root``) as ``model_cls``.

    Every pydantic error becomes one line: ``Invalid field 'a.b[0].c': must be at most 100
    (sandboxer.yaml:14)``, ``Unknown key 'x' at 'a' (sandboxer.yaml:3). Did you mean `y`?``,
    ``Missing field 'a.b' (sandboxer.yaml:2)``. All lines go into one ``ConfigError``. Input
    values are not echoed, except short enum-like words that do not come from the environment.
    """
    source = str(loaded.path)
    data: Any = loaded.data
    for depth, part in enumerate(root):
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(
                f"Missing section '{format_path(root[: depth + 1])}'",
                path=source,
                line=loaded.line_of(root[:depth]),
            ) from None
    try:
        return model_cls.model_validate(data)
    except ValidationError as e:
        errors = e.errors(include_url=False)
    # Raised outside the except block: the ValidationError (which holds input values) must
    # not ride along as __context__ into a --debug traceback.
    raise _validation_error(model_cls, errors, data, loaded, root, source)


@dataclass
class _Located:
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


@dataclass
class _Line:
    line: int | None
    path: PathKey
    text: str
    suffix: str = ""
    expected: str | None = None
    got: str | None = None


def _validation_error(
    model_cls: type[BaseModel],
    errors: list[Any],
    data: Any,
    loaded: LoadedYaml,
    root: PathKey,
    source: str,
) -> ConfigError:
    lines: list[_Line] = []
    for err in errors:
        where = _locate(model_cls, data, err["loc"])
        lines.append(_describe(err, where, loaded, root))
    lines = _merge_alternatives(lines)
    lines.sort(key=lambda item: item.line if item.line is not None else 1 << 30)
    unique: list[_Line] = []
    seen: set[str] = set()
    for item in lines:
        key = item.text + item.suffix + str(item.line)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    error = _combined(
        [(_scrub(item.text, loaded.secret_values), item.line) for item in unique],
        source,
        suffixes=[_scrub(item.suffix, loaded.secret_values) for item in unique],
    )
    return error


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """Blank out secret values from text written by validators, which may quote their input."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SCRUB_LEN:
            text = text.replace(secret, "***")
    return text


def _merge_alternatives(lines: list[_Line]) -> list[_Line]:
    """``expected an integer`` + ``expected a string`` at one path (a plain union) -> one line."""
    out: list[_Line] = []
    by_path: dict[tuple[PathKey, str | None], _Line] = {}
    for item in lines:
        if item.expected is None:
            out.append(item)
            continue
        first = by_path.get((item.path, item.got))
        if first is None:
            by_path[(item.path, item.got)] = item
            out.append(item)
        elif first.expected is not None and item.expected not in first.expected.split(" or "):
            first.expected = f"{first.expected} or {item.expected}"
            first.text = _invalid(first.path, f"expected {first.expected}, got {first.got}")
    return out


# -- locating an error in the model tree


def _locate(model_cls: type[BaseModel], data: Any, loc: tuple[str | int, ...]) -> _Located:
    """Follow ``loc`` through the model tree (and the data, where the types say nothing).

    Pydantic's loc holds data keys and indexes, plus a tag at each union: the discriminator
    value for a discriminated union, the member's name for a plain one. The tags are dropped
    from the path; the types say which elements are tags.
    """
    where = _Located()
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
        fields = _model_fields(tp)
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


def _model_fields(tp: Any) -> dict[str, FieldInfo] | None:
    if not isinstance(tp, type):
        return None
    fields = getattr(tp, "__pydantic_fields__", None)
    return fields if isinstance(fields, dict) else None


def _model_config(tp: Any) -> Mapping[str, Any]:
    config = getattr(tp, "model_config", None) or getattr(tp, "__pydantic_config__", None)
    return config if isinstance(config, Mapping) else {}


def _input_names(tp: Any, fields: dict[str, FieldInfo]) -> dict[str, FieldInfo]:
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
    names = _input_names(tp, fields)
    if part in names:
        return names[part]
    return fields.get(part)


def _union_member(tp: Any, disc: Any, part: str | int) -> Any:
    """The member of union ``tp`` that loc element ``part`` (a tag) selects, or None."""
    members = [a for a in typing.get_args(tp) if a is not type(None)]
    if disc is not None:
        for tag, member in _tags(members, disc).items():
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


def _tags(members: list[Any], disc: Any) -> dict[str, Any]:
    """Tag value -> union member, for a discriminator field name or ``Discriminator``."""
    name = disc.discriminator if isinstance(disc, Discriminator) else disc
    tags: dict[str, Any] = {}
    for member in members:
        explicit = _tag_of(member)
        if explicit is not None:
            tags[explicit] = member
            continue
        base, _, _ = _unwrap(member)
        fields = _model_fields(base)
        if not isinstance(name, str) or fields is None:
            continue
        fi = _input_names(base, fields).get(name) or fields.get(name)
        if fi is None:
            continue
        for value in _literal_values(fi.annotation):
            tags[str(value.value if isinstance(value, enum.Enum) else value)] = member
    return tags


def _literal_values(tp: Any) -> list[Any]:
    tp, _, _ = _unwrap(tp)
    if typing.get_origin(tp) is typing.Literal:
        return list(typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [m.value for m in tp]
    if _is_union(tp):
        return [v for a in typing.get_args(tp) for v in _literal_values(a)]
    return []


# -- wording


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_parsing_size": "an integer of a reasonable size",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "bytes_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dataclass_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "iterable_type": "a list",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date without a time",
    "datetime_type": "a date and time",
    "datetime_parsing": "a date and time",
    "datetime_from_date_parsing": "a date and time",
    "time_type": "a time",
    "time_parsing": "a time",
    "timedelta_type": "a duration",
    "timedelta_parsing": "a duration",
    "url_type": "a URL",
    "url_parsing": "a URL",
    "url_scheme": "a URL",
    "uuid_type": "a UUID",
    "uuid_parsing": "a UUID",
    "path_type": "a path",
    "none_required": "null",
    "callable_type": "a callable",
}
"""Pydantic error types that say the input has the wrong kind, and what was expected."""

_REASON_TYPES = {
    "url_parsing",
    "url_scheme",
    "date_parsing",
    "date_from_datetime_parsing",
    "datetime_parsing",
    "datetime_from_date_parsing",
    "time_parsing",
    "timedelta_parsing",
}
"""Types whose pydantic reason (after the comma) helps and describes the format, not the value."""

_BOUNDS = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}

_WORD = re.compile(r"[A-Za-z0-9_.-]{1,32}")
"""Inputs short and plain enough to quote back (enum-like words, never free text)."""


def _describe(err: Mapping[str, Any], where: _Located, loaded: LoadedYaml, root: PathKey) -> _Line:
    kind: str = err["type"]
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    path: PathKey = (*root, *where.path)
    secret = loaded.is_secret(path)
    shown = (
        f"'{value}'" if isinstance(value, str) and not secret and _WORD.fullmatch(value) else None
    )

    if kind == "extra_forbidden":
        key = path[-1] if path else "?"
        parent = path[:-1]
        at = f" at '{format_path(parent)}'" if parent else " at the top level"
        suffix = ""
        if where.unknown_in is not None and isinstance(key, str):
            fields = _model_fields(where.unknown_in) or {}
            hint = did_you_mean(key, list(_input_names(where.unknown_in, fields)))
            suffix = f". {hint}" if hint else ""
        return _Line(loaded.line_of(path), path, f"Unknown key '{key}'{at}", suffix)

    if kind == "missing":
        return _Line(loaded.line_of(path[:-1]), path, f"Missing field '{format_path(path)}'")

    if kind in ("union_tag_not_found", "union_tag_invalid"):
        tag_key = str(ctx.get("discriminator", "")).strip("'")
        tags = (
            _tags(
                [a for a in typing.get_args(where.annotation) if a is not type(None)],
                where.discriminator,
            )
            if where.discriminator is not None
            else {}
        )
        if re.fullmatch(r"[A-Za-z0-9_-]+", tag_key):
            path = (*path, tag_key)
        choices = ", ".join(f"'{t}'" for t in tags) or str(ctx.get("expected_tags", ""))
        if kind == "union_tag_not_found":
            text = f"Missing field '{format_path(path)}'"
            if choices:
                text += f": must be one of {choices}"
            return _Line(loaded.line_of(path[:-1]), path, text)
        tag = ctx.get("tag")
        tag_shown = f"'{tag}'" if isinstance(tag, str) and _WORD.fullmatch(tag) else None
        secret = loaded.is_secret(path)
        text = f"must be one of {choices}"
        suffix = ""
        if tag_shown and not secret:
            text += f", got {tag_shown}"
            hint = did_you_mean(str(tag), list(tags))
            suffix = f". {hint}" if hint else ""
        return _Line(loaded.line_of(path), path, _invalid(path, text), suffix)

    line = loaded.line_of(path)
    subject = (
        f"Invalid key '{path[-1]}' in '{format_path(path[:-1])}'" if where.is_key and path else None
    )

    def done(reason: str, suffix: str = "", **extra: Any) -> _Line:
        text = f"{subject}: {reason}" if subject else _invalid(path, reason)
        return _Line(line, path, text, suffix, **extra)

    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        got = _kind_of(value)
        reason = f"expected {expected}, got {got}"
        if kind in _REASON_TYPES and not secret and ", " in err["msg"]:
            reason += f" ({err['msg'].split(', ', 1)[1]})"
            return done(reason)
        return done(reason, expected=expected, got=got)

    if kind in ("literal_error", "enum"):
        choices_text = str(ctx.get("expected", ""))
        reason = f"must be one of {choices_text}"
        suffix = ""
        if shown:
            reason += f", got {shown}"
            candidates = [str(v) for v in _literal_values(where.annotation)]
            hint = did_you_mean(str(value), candidates) if candidates else None
            suffix = f". {hint}" if hint else ""
        return done(reason, suffix)

    if kind in _BOUNDS:
        return done(_bounds_phrase(where.metadata, kind, ctx))

    if kind == "int_from_float":
        return done("must be a whole number")
    if kind == "multiple_of":
        return done(f"must be a multiple of {_number(ctx.get('multiple_of'))}")
    if kind == "finite_number":
        return done("must be a finite number")
    if kind == "string_too_short":
        n = ctx.get("min_length")
        return done("must not be empty" if n == 1 else f"must be at least {n} characters long")
    if kind == "string_too_long":
        return done(f"must be at most {ctx.get('max_length')} characters long")
    if kind == "too_short":
        n = ctx.get("min_length")
        return done("must not be empty" if n == 1 else f"must have at least {n} items")
    if kind == "too_long":
        return done(f"must have at most {ctx.get('max_length')} items")
    if kind == "string_pattern_mismatch":
        return done(f"must match the pattern '{ctx.get('pattern')}'")
    if kind in ("value_error", "assertion_error"):
        message = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        if not path:
            return _Line(line, path, f"Invalid config: {message}")
        return done(message)
    if secret:
        # Built-in messages for the remaining types may quote pieces of the input.
        return done("is not valid (the value comes from an environment variable; not shown)")
    message = str(err["msg"])
    message = re.sub(r"^Input should be ", "must be ", message)
    return done(message[:1].lower() + message[1:])


def _invalid(path: PathKey, reason: str) -> str:
    if not path:
        return f"Invalid config: {reason}"
    return f"Invalid field '{format_path(path)}': {reason}"


def _kind_of(value: Any) -> str:
    """What the user wrote, by kind only (never the value)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if value == "" else "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    if isinstance(value, datetime.datetime):
        return "a date and time"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a value of type {type(value).__name__}"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bounds_phrase(metadata: list[Any], kind: str, ctx: Mapping[str, Any]) -> str:
    """``must be between 0 and 100`` when both bounds are known, else the one violated."""
    bounds: dict[str, Any] = {}
    for item in metadata:
        for attr in ("gt", "ge", "lt", "le"):
            if (
                isinstance(item, annotated_types.BaseMetadata)
                and getattr(item, attr, None) is not None
            ):
                bounds[attr] = getattr(item, attr)
    violated = _BOUNDS[kind]
    bounds.setdefault(violated, ctx.get(violated))
    lower = (
        ("ge", bounds["ge"]) if "ge" in bounds else ("gt", bounds["gt"]) if "gt" in bounds else None
    )
    upper = (
        ("le", bounds["le"]) if "le" in bounds else ("lt", bounds["lt"]) if "lt" in bounds else None
    )
    if lower and upper and lower[0] == "ge" and upper[0] == "le":
        return f"must be between {_number(lower[1])} and {_number(upper[1])}"
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    parts = [f"{words[b[0]]} {_number(b[1])}" for b in (lower, upper) if b]
    return "must be " + " and ".join(parts)


def load_config(
    path: Path,
    model_cls: type[M],
    *,
    root: PathKey = (),
    max_bytes: int = 1_000_000,
    env: Mapping[str, str] | None = None,
    missing_hint: str | None = None,
) -> M:
    """``load_yaml`` then ``validate``: the model for a config file, or one ``ConfigError``."""
    loaded = load_yaml(path, max_bytes=max_bytes, env=env, missing_hint=missing_hint)
    return validate(model_cls, loaded, root=root)
