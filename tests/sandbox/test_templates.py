"""Templates: shipped ones validate, extends merges, bad files fail with file, line and hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandboxer.errors import ConfigError
from sandboxer.sandbox.templates import (
    DEFAULT_BASE_IMAGE,
    Template,
    builtin_templates_dir,
    deep_merge,
    list_templates,
    load_template,
    template_names,
    template_source,
)

SHIPPED = ["dbt-duckdb", "dbt-postgres", "postgres", "python-duckdb"]


def write_template(project: Path, name: str, text: str) -> Path:
    path = project / "templates" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOXER_BASE_IMAGE", raising=False)
    monkeypatch.delenv("SANDBOXER_CA_BUNDLE", raising=False)


def test_shipped_templates_validate(tmp_path: Path) -> None:
    templates = {t.name: t for t in list_templates(tmp_path)}
    assert sorted(templates) == SHIPPED
    for template in templates.values():
        assert template.description
        assert template.image.base == DEFAULT_BASE_IMAGE
        assert template.workspace.user == "1000:1000"
        assert template.workspace.read_only_root
        assert not template.network.egress
        assert "duckdb" in template.image.python_packages
    assert templates["python-duckdb"].data.engine == "duckdb"
    assert templates["python-duckdb"].data.path == "/data/sandbox.duckdb"
    for name in ("postgres", "dbt-postgres"):
        pg = templates[name]
        assert pg.data.engine == "postgres"
        service = pg.services["postgres"]
        assert service.kind == "postgres"
        assert service.cap_add == []
        assert service.healthcheck is not None
        assert service.healthcheck.command[0] == "pg_isready"
        assert service.image.base == DEFAULT_BASE_IMAGE


def test_dbt_templates_pin_below_1_11(tmp_path: Path) -> None:
    duck = load_template("dbt-duckdb", tmp_path)
    assert duck.extends == "python-duckdb"
    assert "dbt-core>=1.10,<1.11" in duck.image.python_packages
    assert "dbt-duckdb>=1.10,<1.11" in duck.image.python_packages
    pg = load_template("dbt-postgres", tmp_path)
    assert pg.extends == "postgres"
    assert "dbt-postgres>=1.10,<1.11" in pg.image.python_packages
    # Inherited from postgres (and through it from python-duckdb).
    assert pg.services["postgres"].kind == "postgres"
    assert pg.workspace.tmpfs == ["/tmp", "/home/sandbox"]


def test_base_image_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOXER_BASE_IMAGE", "registry.example.com/py:3.12")
    pg = load_template("postgres", tmp_path)
    assert pg.image.base == "registry.example.com/py:3.12"
    assert pg.services["postgres"].image.base == "registry.example.com/py:3.12"
    write_template(tmp_path, "pinned", "extends: postgres\nimage: {base: 'debian:12'}\n")
    pinned = load_template("pinned", tmp_path)
    assert pinned.image.base == "debian:12"
    assert pinned.services["postgres"].image.base == "debian:12"


def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "small",
        """\
extends: python-duckdb
description: smaller
image:
  python_packages: [duckdb]
resources:
  memory: 512m
env:
  A: "1"
""",
    )
    t = load_template("small", tmp_path)
    assert t.extends == "python-duckdb"
    assert t.description == "smaller"
    assert t.image.python_packages == ["duckdb"]  # replaced, not appended
    assert t.resources.memory == "512m"
    assert t.resources.pids == 256  # merged from the parent
    assert t.resources.memory_bytes == 512 * 1024**2
    assert t.data.path == "/data/sandbox.duckdb"
    assert t.env == {"A": "1"}


def test_deep_merge() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "e": 2}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_unknown_key_has_line_and_suggestion(tmp_path: Path) -> None:
    path = write_template(
        tmp_path, "typo", "extends: python-duckdb\nimage:\n  python_pakages: [duckdb]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_template("typo", tmp_path)
    message = str(info.value)
    assert "Unknown key 'python_pakages'" in message
    assert f"{path}:3" in message
    assert "Did you mean `python_packages`?" in message


def test_secret_looking_env_is_rejected(tmp_path: Path) -> None:
    write_template(tmp_path, "leaky", "env:\n  OK: x\n  DB_PASSWORD: hunter22\n")
    with pytest.raises(ConfigError) as info:
        load_template("leaky", tmp_path)
    message = str(info.value)
    assert "DB_PASSWORD" in message
    assert "secrets are mounted as files" in message
    assert "leaky.yaml:3" in message
    assert "hunter22" not in message
    for key in ("API_TOKEN", "aws_secret_access_key", "GITHUB_TOKEN"):
        write_template(
            tmp_path, "leaky", f"services:\n  pg:\n    kind: postgres\n    env: {{{key}: x}}\n"
        )
        with pytest.raises(ConfigError, match="looks like a secret"):
            load_template("leaky", tmp_path)
    # A path to a secret file is fine.
    write_template(tmp_path, "leaky", "env: {DB_PASSWORD_FILE: /run/secrets/db}\n")
    assert load_template("leaky", tmp_path).env == {"DB_PASSWORD_FILE": "/run/secrets/db"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("resources: {memory: 12q}", ["resources.memory", "512m"]),
        ("resources: {memory: 1k}", ["at least 6m"]),
        ("resources: {cpus: 0}", ["resources.cpus", "greater than 0"]),
        ("resources: {pids: 8}", ["resources.pids", "at least 16"]),
        ("ports: [8080, 70000]", ["ports[1]", "65535"]),
        ("ports: [8080, 8080]", ["twice"]),
        ("workspace: {user: '0:0'}", ["non-root"]),
        ("workspace: {tmpfs: [relative]}", ["absolute path"]),
        ("workspace: {workdir: /a/../etc}", ["'..'"]),
        ("image: {base: 'x y'}", ["image reference"]),
        ("image: {system_packages: ['curl; rm -rf /']}", ["Debian package"]),
        ("image: {python_packages: ['https://evil/x.whl']}", ["requirement"]),
        ("image: {run: ['a\n\n  b']}", ["one line"]),
        ("services: {workspace: {kind: postgres}}", ["cannot be named `workspace`"]),
        ("services: {Bad_Name: {kind: postgres}}", ["lowercase"]),
        ("services: {pg: {kind: mysql}}", ["services.pg.kind"]),
        ("services: {pg: {kind: postgres, cap_add: [SYS_ADMIN]}}", ["isolation"]),
        ("data: {engine: postgres}", ["data.service `postgres`", "kind postgres"]),
        ("env: {'1BAD': x}", ["letters, digits"]),
    ],
)
def test_invalid_values(tmp_path: Path, text: str, words: list[str]) -> None:
    write_template(tmp_path, "bad", text + "\n")
    with pytest.raises(ConfigError) as info:
        load_template("bad", tmp_path)
    for word in words:
        assert word in str(info.value)
    assert "bad.yaml:" in str(info.value)


def test_project_template_overrides_builtin(tmp_path: Path) -> None:
    path = write_template(
        tmp_path, "python-duckdb", "description: ours\nimage: {python_packages: [duckdb]}\n"
    )
    assert template_source("python-duckdb", tmp_path) == path
    t = load_template("python-duckdb", tmp_path)
    assert t.description == "ours"
    assert t.image.python_packages == ["duckdb"]
    assert t.extends is None
    # Templates that extend it get the project's version.
    assert load_template("dbt-duckdb", tmp_path).description.startswith("dbt")
    assert load_template("dbt-duckdb", tmp_path).workspace.workdir == "/workspace"
    # And listing shows one python-duckdb: the project's.
    listed = [t for t in list_templates(tmp_path) if t.name == "python-duckdb"]
    assert [t.description for t in listed] == ["ours"]


def test_project_template_can_extend_the_builtin_it_overrides(tmp_path: Path) -> None:
    write_template(tmp_path, "postgres", "extends: postgres\nresources: {memory: 4g}\n")
    t = load_template("postgres", tmp_path)
    assert t.resources.memory == "4g"
    assert t.services["postgres"].kind == "postgres"  # from the built-in


def test_extends_cycle(tmp_path: Path) -> None:
    write_template(tmp_path, "aa", "extends: bb\n")
    write_template(tmp_path, "bb", "description: b\nextends: aa\n")
    with pytest.raises(ConfigError) as info:
        load_template("aa", tmp_path)
    assert "cycle: aa -> bb -> aa" in str(info.value)
    assert "bb.yaml:2" in str(info.value)


def test_unknown_parent_and_template_suggest(tmp_path: Path) -> None:
    write_template(tmp_path, "child", "extends: python-duckdbb\n")
    with pytest.raises(ConfigError) as info:
        load_template("child", tmp_path)
    assert "Unknown parent template `python-duckdbb`" in str(info.value)
    assert "child.yaml:1" in str(info.value)
    assert "Did you mean `python-duckdb`?" in str(info.value)
    with pytest.raises(ConfigError, match="Did you mean `postgres`"):
        load_template("postgress", tmp_path)


def test_name_must_match_file_and_be_safe(tmp_path: Path) -> None:
    write_template(tmp_path, "one", "name: two\n")
    with pytest.raises(ConfigError, match="does not match its file name"):
        load_template("one", tmp_path)
    with pytest.raises(ConfigError, match="Invalid template name"):
        load_template("../etc/passwd", tmp_path)


def test_env_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CA", str(tmp_path / "ca.pem"))
    write_template(
        tmp_path,
        "corp",
        "extends: python-duckdb\nimage: {ca_bundle: '${MY_CA}'}\nenv: {REGION: '${REGION:-eu}'}\n",
    )
    t = load_template("corp", tmp_path)
    assert t.image.ca_bundle == str(tmp_path / "ca.pem")
    assert t.env == {"REGION": "eu"}


def test_relative_ca_bundle_is_project_relative(tmp_path: Path) -> None:
    write_template(
        tmp_path, "corp", "image: {ca_bundle: certs/corp.pem}\nservices: {pg: {kind: postgres}}\n"
    )
    t = load_template("corp", tmp_path)
    assert t.image.ca_bundle == str(tmp_path / "certs" / "corp.pem")
    assert t.services["pg"].image.ca_bundle == str(tmp_path / "certs" / "corp.pem")


def test_healthcheck_to_docker(tmp_path: Path) -> None:
    service = load_template("postgres", tmp_path).services["postgres"]
    assert service.healthcheck is not None
    hc = service.healthcheck.to_docker()
    assert hc["test"][:2] == ["CMD", "pg_isready"]
    assert hc["interval"] == 1_000_000_000
    assert service.tmpfs == ["/tmp", "/run/postgresql", "/var/lib/postgresql"]


def test_template_names_and_builtin_dir(tmp_path: Path) -> None:
    assert (builtin_templates_dir() / "python-duckdb.yaml").is_file()
    write_template(tmp_path, "extra", "description: x\n")
    assert template_names(tmp_path) == sorted([*SHIPPED, "extra"])
    assert isinstance(load_template("extra", tmp_path), Template)
