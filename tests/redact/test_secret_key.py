"""The redaction key's sources (environment, file, command), their errors, and the config rule."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from sandboxer.config.loader import load_config
from sandboxer.config.models import Project
from sandboxer.errors import ConfigError
from sandboxer.redact.secret_key import fingerprint, load_key, split_command

KEY = "key-lifecycle-test-0123456789"
SECRET_OUTPUT = "s3cr3t-partial-key-material"


def py(code: str) -> list[str]:
    """A key command that runs ``code`` in this Python, as an argument list."""
    return [sys.executable, "-c", code]


def from_command(tmp_path: Path, command: object, **kw: object) -> object:
    return load_key(env="UNUSED", file=None, command=command, base=tmp_path, **kw)  # type: ignore[arg-type]


def test_env_file_and_command_give_the_same_key(tmp_path: Path) -> None:
    env = load_key(env="K", file=None, base=tmp_path, environ={"K": KEY})
    (tmp_path / "key.txt").write_text(KEY + "\n")
    file = load_key(env="K", file="key.txt", base=tmp_path, environ={})
    command = load_key(env="K", file=None, command=py(f"print({KEY!r})"), base=tmp_path, environ={})
    assert env.secret == file.secret == command.secret
    assert (env.origin, file.origin) == ("env:K", f"file:{tmp_path / 'key.txt'}")
    assert command.origin == f"command:{Path(sys.executable).name}"
    assert KEY not in repr(command) and env.fingerprint == fingerprint(command.secret)
    other = load_key(env="K", file=None, base=tmp_path, environ={"K": KEY + "x"})
    assert other.fingerprint != env.fingerprint


def test_a_command_string_is_split_like_a_shell_and_run_without_one(tmp_path: Path) -> None:
    assert split_command("vault kv get -field=key 'secret/my app'") == [
        "vault", "kv", "get", "-field=key", "secret/my app"
    ]  # fmt: skip
    # No shell: `$HOME`, `;` and `>` reach the program as plain arguments.
    script = "import sys; print('k' * 20 if sys.argv[1:] == ['$HOME', ';', '>x'] else '')"
    line = f"{sys.executable} -c \"{script}\" '$HOME' ';' '>x'"
    key = from_command(tmp_path, line)
    assert key.origin.startswith("command:")  # type: ignore[attr-defined]
    assert not (tmp_path / "x").exists()
    # The command runs in the project directory and inherits the environment given.
    cwd = from_command(
        tmp_path, py("import os; print(os.getcwd() + os.environ['EXTRA'])"), environ={"EXTRA": KEY}
    )
    assert (
        cwd.secret
        == load_key(  # type: ignore[attr-defined]
            env="K", file=None, base=tmp_path, environ={"K": str(tmp_path.resolve()) + KEY}
        ).secret
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (py(f"import sys; print({SECRET_OUTPUT!r}); sys.exit(3)"), "failed with exit status 3"),
        (py(f"import sys; sys.stderr.write({SECRET_OUTPUT!r}); sys.exit(1)"), "exit status 1"),
        (py(f"import os, signal; print({SECRET_OUTPUT!r}, flush=True); "
            "os.kill(os.getpid(), signal.SIGTERM)"), "stopped by signal 15"),
        (py("pass"), "printed nothing"),
        (py("print('   ')"), "printed nothing"),
        (py("import sys; sys.stdout.buffer.write(b'\\xff\\xfe' * 20)"), "not UTF-8"),
        (py("print('short')"), "too short"),
        (["sandboxer-no-such-program-xyz", SECRET_OUTPUT], "was not found"),
        ("vault 'unclosed", "cannot be split"),
        ("", "is empty"),
        ([], "is empty"),
    ],
)  # fmt: skip
def test_key_command_errors_are_clear_and_never_show_output(
    tmp_path: Path, command: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        from_command(tmp_path, command)
    shown = f"{e.value} {e.value.hint or ''}"
    assert SECRET_OUTPUT not in shown and SECRET_OUTPUT[:8] not in shown


def test_key_command_timeout(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"did not finish within 0\.5 s") as e:
        from_command(tmp_path, py("import time; time.sleep(30)"), timeout=0.5)
    assert "key_command_timeout" in (e.value.hint or "")
    # A child it started that keeps the output open is ended with it: no hang.
    started = time.monotonic()
    with pytest.raises(ConfigError, match="did not finish"):
        from_command(tmp_path, ["sh", "-c", f"sleep 30 & echo {KEY}; wait"], timeout=0.5)
    assert time.monotonic() - started < 10


def test_file_and_command_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="one redaction key source"):
        load_key(env="K", file="k.txt", command=py("print(1)"), base=tmp_path)


def write_config(tmp_path: Path, redact: str) -> Path:
    path = tmp_path / "sandboxer.yaml"
    config = {
        "version": 1,
        "datasets": {"shop": {"source": "duckdb:///prod.duckdb", "redact": yaml.safe_load(redact)}},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("redact", "error"),
    [
        ("key_command: vault kv get -field=key secret/app", None),
        ("key_command: [vault, kv, get, '-field=key', secret/app]\nkey_command_timeout: 5", None),
        ("key_file: key.txt", None),
        ("key_env: MY_KEY", None),
        ("key_file: key.txt\nkey_command: vault", "not key_file and key_command"),
        ("key_env: MY_KEY\nkey_file: key.txt", "not key_env and key_file"),
        ("key_command: [vault, '']", "every argument must be a non-empty string"),
        ("key_command_timeout: 0", "must be greater than 0"),
        ("key_comand: vault", "Did you mean `key_command`"),
    ],
)
def test_config_takes_exactly_one_key_source(
    tmp_path: Path, redact: str, error: str | None
) -> None:
    path = write_config(tmp_path, redact)
    if error is None:
        load_config(path, Project)
        return
    with pytest.raises(ConfigError) as e:
        load_config(path, Project)
    assert error in str(e.value) and "redact" in str(e.value)
