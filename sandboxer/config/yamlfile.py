"""Read a YAML config file strictly, remembering the line of every key and list item.

``load_yaml`` parses with a ``yaml.SafeLoader`` subclass, rejects duplicate keys, caps the file
size, interpolates ``${ENV_VAR}`` references in string values and records the line of every key
and list item, so that any path into the data maps back to the file (``validation`` uses that
to place its messages).

Values that came from the environment are treated as secrets: no message echoes them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandboxer.errors import ConfigError

PathKey = tuple[str | int, ...]
"""A path into loaded data: mapping keys (str) and list indexes (int)."""

MAX_ERRORS = 20
"""Problems listed in one error before the rest are summarised as "... and N more"."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


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
        raise combined_error(loader.problems, source, hint=hint)
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


def combined_error(
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
