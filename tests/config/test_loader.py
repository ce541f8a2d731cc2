"""sandboxer.config.loader: strict YAML loading and validation errors worded for people.

The models here are small stand-ins: the loader must work for any pydantic model tree.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from sandboxer.config.loader import INIT_HINT, load_config
from sandboxer.config.validation import validate
from sandboxer.config.yamlfile import LoadedYaml, format_path, load_yaml
from sandboxer.errors import ConfigError

SECRET = "hunter2-s3cr3t-value"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Root(Strict):
    table: str
    percent: Annotated[float, Field(ge=0, le=100)] | None = None
    limit: Annotated[int, Field(gt=0)] | None = None


class Subset(Strict):
    roots: list[Root] = Field(default_factory=list)
    mode: Literal["subset", "all", "exclude"] = "subset"
    tables: dict[str, Literal["all", "exclude"]] = Field(default_factory=dict)


class Postgres(Strict):
    type: Literal["postgres"]
    host: str
    port: int = 5432
    password: str = ""

    @field_validator("password")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if " " in value:
            # A careless validator that quotes its input: the loader must still hide it.
            raise ValueError(f"password {value!r} must not contain spaces")
        return value


class DuckDB(Strict):
    type: Literal["duckdb"]
    path: str
    read_only: bool = True


Source = Annotated[Postgres | DuckDB, Field(discriminator="type")]


class Dataset(Strict):
    source: Source
    seed: int = 0
    subset: Subset = Field(default_factory=Subset)


class Config(Strict):
    version: int = 1
    dataset: Dataset
    extra_sources: list[Source] = Field(default_factory=list)
    ports: dict[int, int] = Field(default_factory=dict)


def write(tmp_path: Path, text: str, name: str = "sandboxer.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def config_error(path: Path, model: type[BaseModel] = Config, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, model, **kwargs)  # type: ignore[arg-type]
    return info.value


VALID = """
version: 1
dataset:
  source:
    type: postgres
    host: db.internal
  subset:
    roots:
      - table: customers
        percent: 10
"""


# -- loading


def test_loads_plain_data_and_lines(tmp_path: Path) -> None:
    loaded = load_yaml(write(tmp_path, VALID))
    assert loaded.data["dataset"]["subset"]["roots"][0] == {"table": "customers", "percent": 10}
    assert loaded.lines[()] == 1
    assert loaded.lines[("dataset",)] == 2
    assert loaded.lines[("dataset", "subset", "roots", 0)] == 8
    assert loaded.lines[("dataset", "subset", "roots", 0, "percent")] == 9
    # A path without its own entry falls back to its nearest ancestor.
    assert loaded.line_of(("dataset", "subset", "roots", 0, "nope", 3)) == 8
    assert loaded.secret_paths == frozenset()


def test_valid_config_gives_the_model(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), Config)
    assert isinstance(config.dataset.source, Postgres)
    assert config.dataset.subset.roots[0].percent == 10


def test_keys_stay_strings(tmp_path: Path) -> None:
    # YAML 1.1 reads `on`/`no` as booleans and `5432` as an int; as keys they mean the text.
    loaded = load_yaml(write(tmp_path, "on: 1\nno: 2\n5432: yes\n"))
    assert loaded.data == {"on": 1, "no": 2, "5432": True}


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        base: &base {host: a, port: 1}
        prod:
          <<: *base
          port: 2
        """,
    )
    loaded = load_yaml(path)
    assert loaded.data["prod"] == {"host": "a", "port": 2}
    assert loaded.lines[("prod", "port")] == 4
    assert loaded.lines[("prod", "host")] == 1  # where the merged value is written


def test_duplicate_key_names_key_and_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          seed: 1
          subset: {}
          seed: 2
        """,
    )
    error = config_error(path)
    assert str(error) == (f"Duplicate key 'seed' in 'dataset', first set on line 2 ({path}:4)")
    assert error.line == 4


def test_duplicate_key_at_top_level_and_in_flow_mapping(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "a: 1\nb: {x: 1, x: 2}\na: 3\n"))
    assert "Duplicate key 'x' in 'b'" in str(error)
    assert "Duplicate key 'a' in the top level" in str(error)
    assert ":3)" in str(error)


def test_syntax_error_has_file_and_line_without_snippet(tmp_path: Path) -> None:
    path = write(tmp_path, f"a: 1\nb:\n  c: 2\n d: [{SECRET}\n")
    error = config_error(path)
    message = str(error)
    assert message.startswith("Invalid YAML: ")
    assert error.line == 4
    assert f"({path}:4)" in message
    assert SECRET not in message
    assert "Traceback" not in message and "^" not in message


def test_unknown_tag_is_a_config_error(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "a: !!python/object:os.system x\n"))
    assert "Invalid YAML" in str(error)
    assert error.line == 1


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "- a\n- b\n"))
    assert "Expected a mapping" in str(error) and "got a list" in str(error)
    error = config_error(write(tmp_path, "just text\n"))
    assert "got a single value" in str(error)


def test_empty_file(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "# nothing yet\n"))
    assert "empty" in str(error)


def test_missing_file_has_hint(tmp_path: Path) -> None:
    path = tmp_path / "sandboxer.yaml"
    error = config_error(path, missing_hint=INIT_HINT)
    assert str(error) == f"Config file not found ({path})\n  Run `sandboxer init` to create one."
    assert error.hint == INIT_HINT
    assert config_error(path).hint is None


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    assert "directory" in str(config_error(tmp_path))


def test_size_cap(tmp_path: Path) -> None:
    path = write(tmp_path, "a: " + "x" * 2000 + "\n")
    error = config_error(path, max_bytes=1000)
    assert "larger than the limit of 1,000 bytes" in str(error)
    assert load_yaml(path, max_bytes=3000).data["a"] == "x" * 2000


def test_alias_bomb_is_stopped(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*{chr(96 + i)}"] * 10)
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{refs}]")
    error = config_error(write(tmp_path, "\n".join(lines) + "\n"))
    assert "too many values" in str(error)


def test_recursive_alias_is_an_error(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "a: &a [1, *a]\n"))
    assert "contains it" in str(error)


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "sandboxer.yaml"
    path.write_bytes(b"a: 1\nb: \xff\xfe\n")
    error = config_error(path)
    assert "not valid text" in str(error)
    assert error.line == 2


# -- interpolation


ENV_YAML = """
dataset:
  source:
    type: postgres
    host: ${DB_HOST}
    port: ${DB_PORT:-5432}
    password: "${DB_PASSWORD}"
  subset:
    roots:
      - table: "$${literal}-${DB_HOST}"
"""


def test_env_interpolation(tmp_path: Path) -> None:
    path = write(tmp_path, ENV_YAML)
    env = {"DB_HOST": "db.internal", "DB_PASSWORD": SECRET}
    loaded = load_yaml(path, env=env)
    source = loaded.data["dataset"]["source"]
    assert source == {"type": "postgres", "host": "db.internal", "port": "5432", "password": SECRET}
    assert loaded.data["dataset"]["subset"]["roots"][0]["table"] == "${literal}-db.internal"
    assert loaded.secret_paths == {
        ("dataset", "source", "host"),
        ("dataset", "source", "port"),
        ("dataset", "source", "password"),
        ("dataset", "subset", "roots", 0, "table"),
    }
    assert loaded.secret_values == {"db.internal", SECRET}  # not the default "5432"
    config = validate(Config, loaded)
    assert isinstance(config.dataset.source, Postgres)
    assert config.dataset.source.port == 5432
    assert SECRET not in repr(loaded)


def test_env_default_applies_when_empty_and_set_value_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "a: ${X:-fallback}\nb: ${X:-}\nc: ${Y}\n")
    assert load_yaml(path, env={"X": "", "Y": ""}).data == {"a": "fallback", "b": "", "c": ""}
    assert load_yaml(path, env={"X": "set", "Y": "y"}).data == {"a": "set", "b": "set", "c": "y"}


def test_escape_and_plain_dollars_are_literal(tmp_path: Path) -> None:
    path = write(tmp_path, "a: $${HOME}\nb: pa$$word $5 $HOME\n")
    assert load_yaml(path, env={"HOME": "/root"}).data == {"a": "${HOME}", "b": "pa$$word $5 $HOME"}
    assert load_yaml(path, env={}).secret_paths == frozenset()


def test_keys_are_not_interpolated(tmp_path: Path) -> None:
    path = write(tmp_path, "${X}: 1\n")
    assert load_yaml(path, env={"X": "y"}).data == {"${X}": 1}


def test_unset_variable_names_variable_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, ENV_YAML)
    error = config_error(path, env={"DB_HOST": "h"})
    assert str(error) == (
        f"Environment variable 'DB_PASSWORD' is not set (used by 'dataset.source.password') "
        f"({path}:6)\n  export DB_PASSWORD=..."
    )


def test_all_unset_variables_are_reported(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, ENV_YAML), env={})
    message = str(error)
    assert "3 problems" in message  # DB_HOST is used twice
    assert "used by 'dataset.subset.roots[0].table'" in message
    assert "'DB_HOST'" in message and "'DB_PASSWORD'" in message
    assert error.hint == "export DB_HOST=... DB_PASSWORD=..."


@pytest.mark.parametrize("text", ["${1X}", "${X-y}", "${X", "${X:-${Y}}", "${}"])
def test_malformed_reference(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, f"a: '{text}'\n")
    error = config_error(path, env={"X": "x", "Y": "y"})
    assert "Invalid variable reference in 'a'" in str(error)
    assert error.line == 1


def test_interpolated_value_never_appears_in_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          source:
            type: ${KIND}
            host: h
            port: ${SECRET}
            password: "${SECRET} with a space"
          seed: ${SECRET}
          subset:
            mode: ${SECRET}
            roots:
              - table: t
                percent: ${SECRET}
        extra_sources:
          - ${SECRET}
        ports:
          ${SECRET}: 1
        """,
    )
    error = config_error(path, env={"SECRET": SECRET, "KIND": SECRET})
    message = str(error)
    assert SECRET not in message
    # Still one line per problem, with path and line.
    assert "Invalid field 'dataset.source.type': must be one of 'postgres', 'duckdb'" in message
    assert "Invalid field 'dataset.seed': expected an integer, got a string" in message
    assert "Invalid field 'dataset.subset.mode': must be one of" in message
    assert "Invalid field 'extra_sources[0]': expected a mapping, got a string" in message

    # Values too short to scrub from free text are still never quoted back.
    path = write(
        tmp_path,
        """
        dataset:
          source: {type: duckdb, path: x}
          subset: {mode: "${M}"}
        extra_sources: [{type: "${M}"}]
        """,
    )
    message = str(config_error(path, env={"M": "al"}))
    assert "'al'" not in message and "Did you mean" not in message
    assert "Invalid field 'dataset.subset.mode': must be one of" in message
    assert "Invalid field 'extra_sources[0].type': must be one of" in message

    # The same errors with the value written in the file do show short enum-like words.
    path = write(tmp_path, "dataset:\n  source: {type: pg, host: h}\n")
    assert "got 'pg'" in str(config_error(path))


def test_validator_quoting_a_secret_is_scrubbed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          source: {type: postgres, host: h, password: "${PW}"}
        """,
    )
    error = config_error(path, env={"PW": "correct horse battery"})
    message = str(error)
    assert "correct horse battery" not in message
    assert message.startswith("Invalid field 'dataset.source.password': password '***' must")


# -- validation messages


def test_unknown_key_with_suggestion_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          source: {type: postgres, host: h}
          subset:
            roots:
              - table: a
              - table: b
                perecnt: 5
        """,
    )
    error = config_error(path)
    assert str(error) == (
        f"Unknown key 'perecnt' at 'dataset.subset.roots[1]' ({path}:7). Did you mean `percent`?"
    )
    assert error.line == 7


def test_unknown_top_level_key(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, VALID + "verison: 2\n"))
    assert "Unknown key 'verison' at the top level" in str(error)
    assert "Did you mean `version`?" in str(error)


def test_discriminated_union_suggests_from_the_selected_variant(tmp_path: Path) -> None:
    # `path` is a DuckDB field; for a postgres source the suggestion must come from Postgres.
    path = write(
        tmp_path,
        """
        dataset:
          source:
            type: postgres
            host: h
            prot: 1
        extra_sources:
          - type: duckdb
            paht: x.db
        """,
    )
    message = str(config_error(path))
    assert "Unknown key 'prot' at 'dataset.source' " in message
    assert "Did you mean `port`?" in message
    assert "Unknown key 'paht' at 'extra_sources[0]' " in message
    assert "Did you mean `path`?" in message
    # The tag pydantic puts in the loc ('postgres', 'duckdb') is not part of the path.
    assert "postgres." not in message and "duckdb." not in message
    assert "Missing field 'extra_sources[0].path'" in message


def test_bad_and_missing_discriminator(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          source: {host: h}
        extra_sources:
          - type: duckbd
            path: x
        """,
    )
    message = str(config_error(path))
    assert (
        f"Missing field 'dataset.source.type': must be one of 'postgres', 'duckdb' ({path}:2)"
        in message
    )
    assert (
        f"Invalid field 'extra_sources[0].type': must be one of 'postgres', 'duckdb', "
        f"got 'duckbd' ({path}:4). Did you mean `duckdb`?" in message
    )


def test_missing_field_uses_line_of_parent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1

        dataset:
          seed: 3
        """,
    )
    error = config_error(path)
    assert str(error) == f"Missing field 'dataset.source' ({path}:3)"


def test_nested_list_index_path_and_bounds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          source: {type: duckdb, path: x}
          subset:
            roots:
              - table: a
              - table: b
                limit: 0
              - table: c
                percent: 150
        """,
    )
    message = str(config_error(path))
    assert (
        f"Invalid field 'dataset.subset.roots[2].percent': must be between 0 and 100 ({path}:9)"
        in message
    )
    assert (
        f"Invalid field 'dataset.subset.roots[1].limit': must be greater than 0 ({path}:7)"
        in message
    )
    assert message.index("roots[1]") < message.index("roots[2]")  # in file order


def test_type_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: one
        dataset:
          source: {type: duckdb, path: [a], read_only: maybe}
          subset:
            roots: {table: a}
        ports:
          http: 80
          443: [1]
        """,
    )
    message = str(config_error(path))
    assert "Invalid field 'version': expected an integer, got a string" in message
    assert "Invalid field 'dataset.source.path': expected a string, got a list" in message
    assert "Invalid field 'dataset.source.read_only': expected true or false, got a string" in (
        message
    )
    assert "Invalid field 'dataset.subset.roots': expected a list, got a mapping" in message
    assert "Invalid key 'http' in 'ports': expected an integer, got a string" in message
    assert "Invalid field 'ports.443': expected an integer, got a list" in message
    assert "maybe" not in message


def test_literal_in_dict_values_suggests(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dataset:
          source: {type: duckdb, path: x}
          subset:
            tables: {audit_log: exclud}
        """,
    )
    message = str(config_error(path))
    assert "Invalid field 'dataset.subset.tables.audit_log': must be one of 'all' or 'exclude'" in (
        message
    )
    assert "Did you mean `exclude`?" in message


def test_plain_union_alternatives_are_merged(tmp_path: Path) -> None:
    class Model(Strict):
        value: int | bool

    message = str(config_error(write(tmp_path, "value: [1]\n"), Model))
    assert message.startswith(
        "Invalid field 'value': expected an integer or true or false, got a list"
    )


def test_root_model_and_aliases(tmp_path: Path) -> None:
    class Item(Strict):
        model_config = ConfigDict(extra="forbid", populate_by_name=False)
        max_rows: int = Field(0, alias="max-rows")

    class Items(RootModel[list[Item]]):
        pass

    message = str(
        config_error(write(tmp_path, "items:\n  - max_rowz: 1\n"), Items, root=("items",))
    )
    assert "Unknown key 'max_rowz' at 'items[0]'" in message
    assert "Did you mean `max-rows`?" in message
    assert ":2)" in message


def test_all_errors_are_reported_and_capped(tmp_path: Path) -> None:
    class Model(Strict):
        values: list[int]

    text = "values:\n" + "".join(f"  - x{i}\n" for i in range(30))
    message = str(config_error(write(tmp_path, text), Model))
    lines = message.splitlines()
    assert lines[0] == f"30 problems in {tmp_path / 'sandboxer.yaml'}:"
    assert len(lines) == 1 + 20 + 1
    assert lines[-1].strip() == "... and 10 more"
    assert lines[1].strip().startswith("Invalid field 'values[0]'")


def test_validate_at_root_prefixes_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        other: 1
        dataset:
          source: {type: postgres, hots: h}
        """,
    )
    loaded = load_yaml(path)
    with pytest.raises(ConfigError) as info:
        validate(Dataset, loaded, root=("dataset",))
    assert "Unknown key 'hots' at 'dataset.source' (" in str(info.value)
    assert "Missing field 'dataset.source.host'" in str(info.value)
    with pytest.raises(ConfigError, match="Missing section 'nope'"):
        validate(Dataset, loaded, root=("nope",))


def test_model_validator_error_at_top_level(tmp_path: Path) -> None:
    class Model(Strict):
        a: int = 0
        b: int = 0

        @field_validator("b")
        @classmethod
        def _b_after_a(cls, value: int) -> int:
            raise ValueError("b is never allowed")

    message = str(config_error(write(tmp_path, "b: 1\n"), Model))
    assert message == f"Invalid field 'b': b is never allowed ({tmp_path / 'sandboxer.yaml'}:1)"


def test_validation_error_is_not_chained(tmp_path: Path) -> None:
    # The pydantic error holds input values; it must not reach a --debug traceback.
    error = config_error(write(tmp_path, "dataset: {source: {type: x}}\n"))
    assert error.__cause__ is None
    assert error.__context__ is None


def test_loaded_yaml_line_of_root() -> None:
    loaded = LoadedYaml(path=Path("x.yaml"), data={}, lines={(): 1})
    assert loaded.line_of(("a", 0)) == 1


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("a", "b", 0, "c"), "a.b[0].c"),
        (("tables", "public.orders"), 'tables["public.orders"]'),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_yaml_error_wording(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, "a:\n\t- b\n"))
    assert error.line == 2
    assert error.hint == "Indent YAML with spaces; tabs are not allowed."
    error = config_error(write(tmp_path, "a: 1\n---\nb: 2\n"))
    assert str(error).startswith(
        "Invalid YAML: expected a single document in the stream, but found another document"
    )


def test_merge_list_first_mapping_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &a {k: 1}\nb: &b {k: 2, j: 2}\nc: {<<: [*a, *b]}\n")
    assert load_yaml(path).data["c"] == {"k": 1, "j": 2}
