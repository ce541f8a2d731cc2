"""Environment templates: what a sandbox is built from and how it runs.

A template is a YAML file named after the template. Built-in templates live in the repository's
``templates/`` directory; a project's ``<project_dir>/templates/*.yaml`` override them by name.

    description: Python with DuckDB
    extends: python-duckdb          # optional: deep-merge this file over another template
    image:
      base: python:3.12-slim        # default: $SANDBOXER_BASE_IMAGE, else python:3.12-slim
      system_packages: [git]        # apt-get install --no-install-recommends
      python_packages: [duckdb]     # pip install into the venv at /opt/venv, as written
      run: ["echo built"]           # shell lines, run as root after the installs
      ca_bundle: certs/corp.pem     # default: $SANDBOXER_CA_BUNDLE; trusted by apt, pip, python
    workspace: {user: "1000:1000", workdir: /workspace, read_only_root: true, tmpfs: [/tmp]}
    resources: {cpus: 1.0, memory: 1g, pids: 256}
    env: {DBT_PROFILES_DIR: /workspace}
    data: {engine: duckdb, path: /data/sandbox.duckdb}    # or {engine: postgres, service: ...}
    services:
      postgres: {kind: postgres}
    hooks: {on_create: ["dbt deps"], post_start: []}

``extends`` merges mappings key by key (the child wins); lists and scalars are replaced whole.
Every file is validated on its own first, so errors name the file and line they are on.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

import sandboxer
from sandboxer.config.strict import Strict
from sandboxer.config.validation import validate
from sandboxer.config.yamlfile import LoadedYaml, load_yaml
from sandboxer.errors import ConfigError, did_you_mean
from sandboxer.sandbox.engines import get_engine

BASE_IMAGE_ENV = "SANDBOXER_BASE_IMAGE"
"""Environment variable naming the default base image (CI points it at a local image)."""
DEFAULT_BASE_IMAGE = "python:3.12-slim"
CA_BUNDLE_ENV = "SANDBOXER_CA_BUNDLE"
"""Environment variable naming an extra CA bundle (PEM) to trust in built images."""
WORKSPACE = "workspace"
"""The role of the workspace container; services are named by their key in ``services``."""

TEMPLATE_SUFFIX = ".yaml"
MAX_TEMPLATE_BYTES = 256_000
MAX_EXTENDS_DEPTH = 16

# Docker's own grammar for a repository path component, so a template name is usable as-is in
# an image tag (sandboxer/<template>-<role>) and in container and volume names.
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
MAX_NAME_LENGTH = 63
ENV_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_WORDS = (
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "SECRET",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
)
"""Env keys containing these look like secrets; ``*_FILE`` keys (a path to one) are allowed."""
# An image reference goes into a FROM line: letters, digits and the reference punctuation only.
IMAGE_REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$")
DEBIAN_PACKAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9+.-]*(?:=[A-Za-z0-9.+:~_-]+)?$")
_VERSION_CLAUSE = r"\s*(?:===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9.*+!_-]+\s*"
PYTHON_PACKAGE_PATTERN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"  # project name (PEP 508)
    r"(?:\[[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\])?"  # extras
    rf"(?:{_VERSION_CLAUSE}(?:,{_VERSION_CLAUSE})*)?$"  # version specifiers
)
MEMORY_PATTERN = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[bkmg]?)$")
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
MIN_MEMORY = 6 * 1024**2
"""Docker refuses memory limits below 6 MiB."""
# Container paths go into Dockerfile lines and mount specs: a conservative allowlist.
CONTAINER_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9._/-]*$")
USER_PATTERN = re.compile(r"^(?P<uid>\d+)(?::(?P<gid>\d+))?$")


# --------------------------------------------------------------------------------------------
# Field types


def _check_name(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            "must be lowercase letters and digits, separated by single '.', '_' or '-' "
            f"(at most {MAX_NAME_LENGTH} characters)"
        )
    return value


def _check_container_path(value: str) -> str:
    if not CONTAINER_PATH_PATTERN.fullmatch(value):
        raise ValueError("must be an absolute path of letters, digits and . _ - /")
    parts = PurePosixPath(value).parts
    if ".." in parts or "." in parts:
        raise ValueError("must not contain '.' or '..' components")
    return str(PurePosixPath(value))


def _check_env_key(value: str) -> str:
    if not ENV_KEY_PATTERN.fullmatch(value):
        raise ValueError("environment variable names are letters, digits and '_'")
    upper = value.upper()
    if not upper.endswith("_FILE") and any(word in upper for word in SECRET_WORDS):
        raise ValueError(
            f"`{value}` looks like a secret; secrets are mounted as files, never set in env "
            f"(mount the file and set `{value}_FILE` to its path)"
        )
    return value


def _check_image_ref(value: str) -> str:
    if not IMAGE_REF_PATTERN.fullmatch(value):
        raise ValueError("must be an image reference such as `python:3.12-slim`")
    return value


def _check_debian_package(value: str) -> str:
    if not DEBIAN_PACKAGE_PATTERN.fullmatch(value):
        raise ValueError("must be a Debian package name, optionally `name=version`")
    return value


def _check_python_package(value: str) -> str:
    if not PYTHON_PACKAGE_PATTERN.fullmatch(value.strip()):
        raise ValueError(
            "must be a requirement such as `duckdb`, `polars>=1.0` or `dbt-core>=1.10,<1.11` "
            "(no URLs or options)"
        )
    return value.strip()


def _check_shell_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if "\n" in value or "\r" in value:
        raise ValueError("must be one line; write one list item per command or join with &&")
    return value


def _check_memory(value: str) -> str:
    text = str(value).strip().lower()
    match = MEMORY_PATTERN.fullmatch(text)
    if match is None:
        raise ValueError("must be a size such as `512m` or `2g`")
    if memory_bytes(text) < MIN_MEMORY:
        raise ValueError("must be at least 6m (Docker's minimum)")
    return text


def memory_bytes(memory: str) -> int:
    """``"512m"`` -> 536870912."""
    match = MEMORY_PATTERN.fullmatch(memory.strip().lower())
    if match is None:
        raise ValueError(f"not a memory size: {memory!r}")
    return int(float(match.group("number")) * _MEMORY_UNITS[match.group("unit")])


def _check_user(value: str) -> str:
    match = USER_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError("must be `UID` or `UID:GID` (numbers), e.g. `1000:1000`")
    if int(match.group("uid")) == 0 or match.group("gid") == "0":
        raise ValueError("must not be root (0): sandboxes run as a non-root user")
    return value


Name = Annotated[str, AfterValidator(_check_name)]
ContainerPath = Annotated[str, AfterValidator(_check_container_path)]
EnvKey = Annotated[str, AfterValidator(_check_env_key)]
ImageRef = Annotated[str, AfterValidator(_check_image_ref)]
DebianPackage = Annotated[str, AfterValidator(_check_debian_package)]
PythonPackage = Annotated[str, AfterValidator(_check_python_package)]
ShellLine = Annotated[str, AfterValidator(_check_shell_line)]
Memory = Annotated[str, AfterValidator(_check_memory)]
Port = Annotated[int, Field(ge=1, le=65535)]


def default_base_image() -> str:
    """``$SANDBOXER_BASE_IMAGE`` if set and not empty, else ``python:3.12-slim``."""
    return os.environ.get(BASE_IMAGE_ENV) or DEFAULT_BASE_IMAGE


# --------------------------------------------------------------------------------------------
# The model tree


class ImageSpec(Strict):
    """How an image is built, on top of ``base``."""

    base: ImageRef | None = None
    """Base image; ``None`` in a file means the template's base (for a service) or
    ``$SANDBOXER_BASE_IMAGE`` / ``python:3.12-slim``. Filled in when a template is loaded."""
    system_packages: list[DebianPackage] = Field(default_factory=list)
    """Debian packages, installed with ``apt-get install --no-install-recommends``."""
    python_packages: list[PythonPackage] = Field(default_factory=list)
    """Requirements installed as written into the venv at ``/opt/venv`` (on PATH)."""
    run: list[ShellLine] = Field(default_factory=list)
    """Shell lines run as root after the installs, one image layer each."""
    ca_bundle: str | None = None
    """A PEM file of extra CA certificates to trust (apt, pip, Python); relative paths are
    relative to the project directory. ``None``: ``$SANDBOXER_CA_BUNDLE`` if set."""


class Workspace(Strict):
    """The container a person works in."""

    user: Annotated[str, AfterValidator(_check_user)] = "1000:1000"
    """``UID:GID`` of the non-root user the workspace runs as (created in the image)."""
    workdir: ContainerPath = "/workspace"
    mount_project: bool = True
    """Bind-mount the project directory at ``workdir``."""
    read_only_root: bool = True
    tmpfs: list[ContainerPath] = Field(default_factory=lambda: ["/tmp", "/home/sandbox"])
    """Writable scratch directories when the root filesystem is read-only."""


class Resources(Strict):
    cpus: Annotated[float, Field(gt=0)] = 1.0
    memory: Memory = "1g"
    pids: Annotated[int, Field(ge=16)] = 256

    @property
    def memory_bytes(self) -> int:
        return memory_bytes(self.memory)


class Network(Strict):
    egress: bool = False
    """Let containers reach the outside world; by default the sandbox network is internal."""


class HealthCheck(Strict):
    """A container health check. ``command`` as a list runs directly (``CMD``), as a string
    through ``/bin/sh -c`` (``CMD-SHELL``)."""

    command: list[str] | str
    interval: Annotated[float, Field(gt=0)] = 2.0
    """Seconds between checks."""
    timeout: Annotated[float, Field(gt=0)] = 5.0
    retries: Annotated[int, Field(ge=1)] = 30
    start_period: Annotated[float, Field(ge=0)] = 0.0

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if not value or (isinstance(value, list) and not value[0]):
            raise ValueError("must name a command")
        return value

    def to_docker(self) -> dict[str, Any]:
        """The ``healthcheck`` argument of the docker SDK's ``containers.create``."""
        if isinstance(self.command, str):
            test = ["CMD-SHELL", self.command]
        else:
            test = ["CMD", *self.command]
        seconds = 1_000_000_000
        return {
            "test": test,
            "interval": int(self.interval * seconds),
            "timeout": int(self.timeout * seconds),
            "retries": self.retries,
            "start_period": int(self.start_period * seconds),
        }


POSTGRES_TMPFS = ["/tmp", "/run/postgresql", "/var/lib/postgresql"]
"""Scratch paths of a ``postgres`` service: socket dir, and the data dir's parent (mount the
data volume at ``/var/lib/postgresql`` instead of the last one to keep data across restarts)."""
POSTGRES_HEALTHCHECK: dict[str, Any] = {"command": ["pg_isready", "-q"], "interval": 1.0}


class Service(Strict):
    """A container next to the workspace, on the sandbox network."""

    kind: Literal["postgres"]
    """``postgres``: PostgreSQL from the base image's Debian ``postgresql`` package, running
    as the ``postgres`` user with no capabilities; the password comes from a mounted file."""
    image: ImageSpec = Field(default_factory=ImageSpec)
    """Extra packages and lines on top of what the kind installs."""
    resources: Resources = Field(default_factory=Resources)
    env: dict[EnvKey, str] = Field(default_factory=dict)
    healthcheck: HealthCheck | None = None
    """Default for ``postgres``: ``pg_isready``."""
    cap_add: list[str] = Field(default_factory=list)
    """Capabilities added back after ``cap_drop: ALL``; ``postgres`` needs none."""
    read_only_root: bool = True
    tmpfs: list[ContainerPath] | None = None
    """Default for ``postgres``: ``/tmp``, ``/run/postgresql``, ``/var/lib/postgresql``."""

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "postgres":
            data = dict(data)
            data.setdefault("healthcheck", POSTGRES_HEALTHCHECK)
            if data.get("tmpfs") is None:
                data["tmpfs"] = list(POSTGRES_TMPFS)
        return data

    @field_validator("cap_add")
    @classmethod
    def _capabilities(cls, value: list[str]) -> list[str]:
        out = []
        for cap in value:
            name = cap.upper().removeprefix("CAP_")
            if not re.fullmatch(r"[A-Z_]+", name):
                raise ValueError(f"`{cap}` is not a capability name such as CHOWN")
            if name in {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_ADMIN"}:
                raise ValueError(f"{name} would undo the sandbox's isolation")
            out.append(name)
        return out


class DataEngine(Strict):
    """Where the snapshot is loaded."""

    engine: Literal["duckdb", "postgres"] = "duckdb"
    """A name in ``sandboxer.sandbox.engines.ENGINES`` (a Literal, so errors list the names)."""
    path: ContainerPath = "/data/sandbox.duckdb"
    """``duckdb``: the database file, in the data volume (mounted at ``/data``)."""
    service: Name = "postgres"
    """``postgres``: the service (of kind ``postgres``) to load into."""
    database: Name = "sandbox"
    user: Name = "sandbox"


class Hooks(Strict):
    """Shell lines run in the workspace (as its user)."""

    on_create: list[ShellLine] = Field(default_factory=list)
    """Once, after the data is loaded."""
    post_start: list[ShellLine] = Field(default_factory=list)
    """After every start, including the first."""


class Template(Strict):
    """A resolved template (``extends`` already merged)."""

    name: Name
    description: str = ""
    extends: Name | None = None
    """The parent template this one was merged over (for display)."""
    image: ImageSpec = Field(default_factory=ImageSpec)
    workspace: Workspace = Field(default_factory=Workspace)
    resources: Resources = Field(default_factory=Resources)
    env: dict[EnvKey, str] = Field(default_factory=dict)
    """Set in the workspace at run time (never baked into the image)."""
    ports: list[Port] = Field(default_factory=list)
    """Workspace ports published on 127.0.0.1, on host ports the engine chooses."""
    network: Network = Field(default_factory=Network)
    data: DataEngine = Field(default_factory=DataEngine)
    services: dict[Name, Service] = Field(default_factory=dict)
    hooks: Hooks = Field(default_factory=Hooks)
    healthcheck: HealthCheck | None = None
    """Of the workspace; services have their own."""

    @model_validator(mode="before")
    @classmethod
    def _fill_base_images(cls, data: Any) -> Any:
        # The base image is a setting: a template that names none gets the current default,
        # and its services get the template's.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        image = data.get("image")
        if image is None or isinstance(image, dict):
            image = dict(image or {})
            if image.get("base") is None:
                image["base"] = default_base_image()
            data["image"] = image
            services = data.get("services")
            if isinstance(services, dict):
                filled = {}
                for key, service in services.items():
                    if isinstance(service, dict):
                        service = dict(service)
                        sub = service.get("image")
                        if sub is None or isinstance(sub, dict):
                            sub = dict(sub or {})
                            if sub.get("base") is None:
                                sub["base"] = image["base"]
                            if sub.get("ca_bundle") is None and image.get("ca_bundle"):
                                sub["ca_bundle"] = image["ca_bundle"]
                            service["image"] = sub
                    filled[key] = service
                data["services"] = filled
        return data

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("lists a port twice")
        return value

    @field_validator("services")
    @classmethod
    def _service_names(cls, value: dict[str, Service]) -> dict[str, Service]:
        if WORKSPACE in value:
            raise ValueError(f"a service cannot be named `{WORKSPACE}` (the workspace's role)")
        return value

    def roles(self) -> list[str]:
        """``workspace`` and every service name: the images a sandbox of this template needs."""
        return [WORKSPACE, *self.services]

    def image_spec(self, role: str = WORKSPACE) -> ImageSpec:
        """The image spec of ``role`` (``workspace`` or a service name)."""
        if role == WORKSPACE:
            return self.image
        service = self.services.get(role)
        if service is None:
            raise ConfigError(
                f"Template `{self.name}` has no service `{role}`",
                hint=did_you_mean(role, self.roles()) or f"Roles: {', '.join(self.roles())}",
            )
        return service.image


# --------------------------------------------------------------------------------------------
# Finding and loading templates


def builtin_templates_dir() -> Path:
    """The templates shipped with sandboxer: the repository's ``templates/`` in a checkout,
    else ``<prefix>/share/sandboxer/templates`` when installed as data files."""
    repo = Path(sandboxer.__file__).resolve().parent.parent / "templates"
    if repo.is_dir():
        return repo
    return Path(sys.prefix) / "share" / "sandboxer" / "templates"


def _search_dirs(project_dir: Path | None) -> list[Path]:
    dirs = []
    if project_dir is not None:
        dirs.append(Path(project_dir) / "templates")
    dirs.append(builtin_templates_dir())
    return dirs


def _sources(name: str, project_dir: Path | None) -> list[Path]:
    """Files defining ``name``, the one that wins first."""
    return [
        d / f"{name}{TEMPLATE_SUFFIX}"
        for d in _search_dirs(project_dir)
        if (d / f"{name}{TEMPLATE_SUFFIX}").is_file()
    ]


def template_names(project_dir: Path | None) -> list[str]:
    """Names of all templates, built-in and the project's, sorted."""
    names: set[str] = set()
    for d in _search_dirs(project_dir):
        if d.is_dir():
            names.update(
                p.stem for p in d.glob(f"*{TEMPLATE_SUFFIX}") if NAME_PATTERN.fullmatch(p.stem)
            )
    return sorted(names)


def _unknown(
    name: str,
    project_dir: Path | None,
    *,
    path: str | None = None,
    line: int | None = None,
    what: str = "template",
) -> ConfigError:
    names = template_names(project_dir)
    hint = did_you_mean(name, names) or (
        f"Templates: {', '.join(names)}" if names else "No templates found."
    )
    return ConfigError(f"Unknown {what} `{name}`", path=path, line=line, hint=hint)


def _valid_name(name: str) -> None:
    # The name becomes a file path: check it before it touches the filesystem.
    try:
        _check_name(name)
    except ValueError as e:
        raise ConfigError(f"Invalid template name `{name[:80]}`: {e}") from None


def template_source(name: str, project_dir: Path | None) -> Path:
    """The file that defines template ``name``: the project's, else the built-in one."""
    _valid_name(name)
    sources = _sources(name, project_dir)
    if not sources:
        raise _unknown(name, project_dir)
    return sources[0]


def load_template(name: str, project_dir: Path | None) -> Template:
    """Load, merge (``extends``) and validate template ``name``; project templates first.

    Raises ``ConfigError`` with file and line for invalid files, unknown keys (with a
    suggestion), unknown parents and ``extends`` cycles.
    """
    source = template_source(name, project_dir)
    data, child = _resolve(source, project_dir, ())
    template = _validate_merged(data, child)
    return _finish(template, child, project_dir)


def list_templates(project_dir: Path | None) -> list[Template]:
    """Every template (a project's override replaces the built-in one), sorted by name."""
    return [load_template(name, project_dir) for name in template_names(project_dir)]


def _load_file(path: Path) -> LoadedYaml:
    loaded = load_yaml(path, max_bytes=MAX_TEMPLATE_BYTES)
    data = dict(loaded.data)
    if "name" in data and data["name"] != path.stem:
        raise ConfigError(
            f"Template name `{data['name']}` does not match its file name `{path.name}`",
            path=str(path),
            line=loaded.line_of(("name",)),
            hint=f"Rename the file to `{data['name']}{TEMPLATE_SUFFIX}` or drop `name:`.",
        )
    data["name"] = path.stem
    loaded = dataclasses.replace(loaded, data=data)
    # Each file on its own first, so that errors point into the file that has them.
    validate(Template, loaded)
    return loaded


def _resolve(
    source: Path, project_dir: Path | None, stack: tuple[Path, ...]
) -> tuple[dict[str, Any], LoadedYaml]:
    """The merged raw data of the template in ``source`` and its own LoadedYaml."""
    loaded = _load_file(source)
    data: dict[str, Any] = loaded.data
    parent = data.get("extends")
    if parent is None:
        return data, loaded
    stack = (*stack, source.resolve())
    line = loaded.line_of(("extends",))
    # `extends: <own name>` in a project template means the built-in template it overrides.
    candidates = [s for s in _sources(parent, project_dir) if s.resolve() not in stack[-1:]]
    if not candidates:
        raise _unknown(parent, project_dir, path=str(source), line=line, what="parent template")
    parent_source = candidates[0]
    if parent_source.resolve() in stack or len(stack) > MAX_EXTENDS_DEPTH:
        chain = " -> ".join(p.stem for p in (*stack, parent_source.resolve()))
        raise ConfigError(
            f"`extends` forms a cycle: {chain}",
            path=str(source),
            line=line,
            hint="Remove `extends` from one of these templates.",
        )
    parent_data, _ = _resolve(parent_source, project_dir, stack)
    merged = deep_merge(parent_data, data)
    merged["extends"] = parent
    return merged, loaded


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _validate_merged(data: dict[str, Any], child: LoadedYaml) -> Template:
    # Each file was validated alone, so this rarely fails; when it does, lines point at the
    # child (the file the user asked for).
    return validate(Template, dataclasses.replace(child, data=data))


def _finish(template: Template, child: LoadedYaml, project_dir: Path | None) -> Template:
    """Checks across fields (after merging) and project-relative paths."""
    source = str(child.path)
    data = template.data
    kind = get_engine(data.engine).service_kind
    if kind is not None:
        service = template.services.get(data.service)
        if service is None or service.kind != kind:
            fitting = [k for k, s in template.services.items() if s.kind == kind]
            raise ConfigError(
                f"data.service `{data.service}` is not a service of kind {kind} in template "
                f"`{template.name}`",
                path=source,
                line=child.line_of(("data", "service")) or child.line_of(("data",)),
                hint=(
                    f"Did you mean `{fitting[0]}`?"
                    if fitting
                    else f"Add `services: {{{kind}: {{kind: {kind}}}}}`."
                ),
            )
    updates: dict[str, Any] = {}
    if template.image.ca_bundle:
        updates["image"] = template.image.model_copy(
            update={"ca_bundle": _project_path(template.image.ca_bundle, project_dir)}
        )
    services = {}
    for key, service in template.services.items():
        if service.image.ca_bundle:
            image = service.image.model_copy(
                update={"ca_bundle": _project_path(service.image.ca_bundle, project_dir)}
            )
            service = service.model_copy(update={"image": image})
        services[key] = service
    updates["services"] = services
    return template.model_copy(update=updates)


def _project_path(value: str, project_dir: Path | None) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute() and project_dir is not None:
        path = Path(project_dir) / path
    return str(path)
