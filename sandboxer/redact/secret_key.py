"""The redaction key: where it comes from, and the fingerprint that stands in for it.

Three sources, one per config: an environment variable (``key_env``, the default), a file
(``key_file``), or a command (``key_command``: a secret manager's CLI, run without a shell,
whose standard output is the key). The key never goes into a manifest, log, image, report or
error message, and neither does the command's output: only ``fingerprint(key)`` does, a one-way,
domain-separated digest that tells two snapshots built with the same key apart from two built
with different keys (``snapshot_fingerprint`` reads it back from a manifest).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shlex
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sandboxer.errors import ConfigError

if TYPE_CHECKING:
    from sandboxer.snapshot.manifest import SnapshotManifest

KEY_COMMAND_TIMEOUT = 30.0
"""Seconds a ``key_command`` may take (a secret manager may prompt for nothing: it must not)."""

MIN_KEY_CHARS = 16
GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class RedactionKey:
    secret: bytes
    origin: str
    """Where it came from, for people: ``env:NAME``, ``file:PATH``, ``command:PROGRAM`` or
    ``throwaway``."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)

    def __repr__(self) -> str:  # never show the secret, even in a debugger or a traceback
        return f"RedactionKey(origin={self.origin!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__


def fingerprint(secret: bytes) -> str:
    return hashlib.sha256(b"sandboxer/key-fingerprint/v1\x00" + secret).hexdigest()[:16]


def _derive(text: str) -> bytes:
    # Stretch whatever the user gave into 32 uniform bytes, domain-separated from the
    # fingerprint so the fingerprint reveals nothing usable about the key.
    return hashlib.sha256(b"sandboxer/redaction-key/v1\x00" + text.encode()).digest()


def snapshot_fingerprint(manifest: SnapshotManifest) -> str | None:
    """The fingerprint of the key a snapshot was redacted with (None: no redaction stage)."""
    stage = manifest.stages.get("redaction") or {}
    found = stage.get("key_fingerprint")
    return found if isinstance(found, str) else None


def load_key(
    *,
    env: str,
    file: str | None,
    base: Path,
    command: str | Sequence[str] | None = None,
    timeout: float = KEY_COMMAND_TIMEOUT,
    throwaway: bool = False,
    environ: dict[str, str] | None = None,
) -> RedactionKey:
    """The key from ``command``, ``file`` or the environment variable ``env`` (at most one of
    ``command`` and ``file``); or a random one-off key when ``throwaway`` (pseudonyms then
    differ from every other build)."""
    if throwaway:
        return RedactionKey(secrets.token_bytes(32), "throwaway")
    if file and command is not None:
        raise ConfigError("Set one redaction key source: redact.key_file or redact.key_command")
    environ = dict(os.environ) if environ is None else environ
    if command is not None:
        argv = split_command(command)
        text = _run_key_command(argv, base=base, timeout=timeout, environ=environ)
        origin = f"command:{Path(argv[0]).name}"
    elif file:
        path = Path(file).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(
                f"Cannot read the redaction key file {path}: {e.strerror}",
                hint=f"Create it with: {GENERATE_HINT} > {path} && chmod 600 {path}",
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"The redaction key file {path} is not UTF-8 text",
                hint=f"Generate a key with: {GENERATE_HINT}",
            ) from None
        origin = f"file:{path}"
    else:
        text = environ.get(env, "").strip()
        origin = f"env:{env}"
        if not text:
            raise ConfigError(
                f"Redaction needs a secret key, and ${env} is not set",
                hint=f"export {env}=$({GENERATE_HINT}) (keep it in your secret store: the "
                "same key gives the same pseudonyms), set redact.key_file or "
                "redact.key_command, or pass --throwaway-key for a one-off build.",
            )
    if len(text) < MIN_KEY_CHARS:
        raise ConfigError(
            f"The redaction key from {origin} is too short (at least {MIN_KEY_CHARS} characters)",
            hint=f"Generate one with: {GENERATE_HINT}",
        )
    return RedactionKey(_derive(text), origin)


def split_command(command: str | Sequence[str]) -> list[str]:
    """``key_command`` as an argument list: a string is split like a POSIX shell would (quotes,
    escapes), with no expansion, pipe or redirection, since nothing runs it through a shell."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as e:  # an unclosed quote
            raise ConfigError(
                f"redact.key_command cannot be split into words: {e}",
                hint="Quote it as a shell would, or give it as a list of arguments.",
            ) from None
    else:
        argv = [str(a) for a in command]
    if not argv or not argv[0]:
        raise ConfigError("redact.key_command is empty", hint="Name the program to run.")
    return argv


def _run_key_command(
    argv: list[str], *, base: Path, timeout: float, environ: dict[str, str]
) -> str:
    """Run the key command; its trimmed standard output. Errors name the program, never the
    arguments' values beyond it nor a byte of what it printed (it may be the key, or part of it)."""
    program = Path(argv[0]).name
    what = f"The redaction key command `{program}`"
    quiet = "(its output is not shown: it may hold the key; run the command yourself to see why)"
    try:
        # Its own process group, so a timeout ends whatever it started too (a child that kept
        # the output pipe open would otherwise hold the build).
        proc = subprocess.Popen(
            argv,
            cwd=base,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ConfigError(
            f"{what} was not found",
            hint="Install it, or give its full path in redact.key_command.",
        ) from None
    except PermissionError:
        raise ConfigError(f"{what} cannot be run: permission denied") from None
    except OSError as e:
        raise ConfigError(f"{what} cannot be run: {e.strerror}") from None
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ConfigError(
            f"{what} did not finish within {timeout:g} s",
            hint="It must print the key without asking anything (log in to the secret manager "
            "first); or raise redact.key_command_timeout.",
        ) from None
    if proc.returncode != 0:
        how = (
            f"was stopped by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"failed with exit status {proc.returncode}"
        )
        raise ConfigError(f"{what} {how} {quiet}")
    try:
        text = stdout.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{what} printed bytes that are not UTF-8 text {quiet}") from None
    if not text:
        raise ConfigError(
            f"{what} printed nothing on its standard output",
            hint="It must print the key (and only the key) on stdout.",
        )
    return text
