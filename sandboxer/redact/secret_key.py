"""The redaction key: where it comes from, and the fingerprint that stands in for it.

The key never goes into a manifest, log, image or report: only ``fingerprint(key)`` does, a
one-way, domain-separated digest that tells two snapshots built with the same key apart from
two built with different keys.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sandboxer.errors import ConfigError

MIN_KEY_CHARS = 16
GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class RedactionKey:
    secret: bytes
    origin: str
    """Where it came from, for people: ``env:NAME``, ``file:PATH`` or ``throwaway``."""

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


def load_key(
    *,
    env: str,
    file: str | None,
    base: Path,
    throwaway: bool = False,
    environ: dict[str, str] | None = None,
) -> RedactionKey:
    """The key from ``file`` or the environment variable ``env``; or a random one-off key
    when ``throwaway`` (pseudonyms then differ from every other build)."""
    if throwaway:
        return RedactionKey(secrets.token_bytes(32), "throwaway")
    environ = dict(os.environ) if environ is None else environ
    if file:
        path = Path(file).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(
                f"Cannot read the redaction key file {path}: {e.strerror}",
                hint=f"Create it with: {GENERATE_HINT} > {path} && chmod 600 {path}",
            ) from None
        origin = f"file:{path}"
    else:
        text = environ.get(env, "").strip()
        origin = f"env:{env}"
        if not text:
            raise ConfigError(
                f"Redaction needs a secret key, and ${env} is not set",
                hint=f"export {env}=$({GENERATE_HINT}) (keep it in your secret store: the "
                "same key gives the same pseudonyms), set redact.key_file, or pass "
                "--throwaway-key for a one-off build.",
            )
    if len(text) < MIN_KEY_CHARS:
        raise ConfigError(
            f"The redaction key from {origin} is too short (at least {MIN_KEY_CHARS} characters)",
            hint=f"Generate one with: {GENERATE_HINT}",
        )
    return RedactionKey(_derive(text), origin)
