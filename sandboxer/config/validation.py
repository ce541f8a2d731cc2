"""Validate loaded YAML against a pydantic model, with every error reworded for people.

``validate`` runs ``model_validate`` and rewords each pydantic error as one line naming the
dotted path, the reason and ``file:line``, with a suggestion for misspelt keys and choices:
``Invalid field 'dataset.subset.roots[0].percent': must be between 0 and 100
(sandboxer.yaml:14)``. Input values are not echoed, except short enum-like words that do not
come from the environment.
"""

from __future__ import annotations

import datetime
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import annotated_types
from pydantic import BaseModel, ValidationError

from sandboxer.config.locate import (
    Located,
    input_names,
    literal_values,
    locate,
    model_fields,
    union_tags,
)
from sandboxer.config.yamlfile import LoadedYaml, PathKey, combined_error, format_path
from sandboxer.errors import ConfigError, did_you_mean

M = TypeVar("M", bound=BaseModel)

_MIN_SCRUB_LEN = 4
"""Secret values at least this long are blanked out of validator-written messages too; shorter
ones would mangle numbers and words in unrelated text."""


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
        where = locate(model_cls, data, err["loc"])
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
    error = combined_error(
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


def _describe(err: Mapping[str, Any], where: Located, loaded: LoadedYaml, root: PathKey) -> _Line:
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
            fields = model_fields(where.unknown_in) or {}
            hint = did_you_mean(key, list(input_names(where.unknown_in, fields)))
            suffix = f". {hint}" if hint else ""
        return _Line(loaded.line_of(path), path, f"Unknown key '{key}'{at}", suffix)

    if kind == "missing":
        return _Line(loaded.line_of(path[:-1]), path, f"Missing field '{format_path(path)}'")

    if kind in ("union_tag_not_found", "union_tag_invalid"):
        tag_key = str(ctx.get("discriminator", "")).strip("'")
        tags = (
            union_tags(
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
            candidates = [str(v) for v in literal_values(where.annotation)]
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
