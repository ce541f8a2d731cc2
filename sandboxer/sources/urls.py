"""Source URLs: parsing, and printing them without credentials."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_PASSWORD_IN_DSN = re.compile(r"(password\s*=\s*)(\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; keyword DSNs too."""
    if "://" not in url:
        return _PASSWORD_IN_DSN.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}"
    query = re.sub(r"(password=)[^&]*", r"\1***", parts.query, flags=re.IGNORECASE)
    if netloc == parts.netloc and query == parts.query:
        return url  # nothing secret; urlunsplit would also drop the ``//`` of file URLs
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scheme_of(url: str) -> str:
    """The source type a URL names: a scheme, or ``files`` for a plain directory path."""
    if "://" in url:
        scheme = url.split("://", 1)[0].lower()
        return {"postgres": "postgresql", "file": "files"}.get(scheme, scheme.split("+")[0])
    return "files"


def resolve_url(url: str, base: Path) -> str:
    """Make a relative file URL (``duckdb:///x.db``, ``sqlite:///x.db``, ``data/``) absolute
    against ``base`` (the config file's directory), so commands work from any directory."""
    for scheme in ("duckdb", "sqlite"):
        prefix = f"{scheme}:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            rest = url[len(prefix) :]
            if rest in ("", ":memory:"):
                return url
            return f"{prefix}{(base / rest).resolve()}"
    if "://" not in url:
        path = Path(url).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    if url.startswith("file://"):
        return url[len("file://") :] or "/"
    return url
