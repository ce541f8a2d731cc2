"""Shared fixtures. Tests use real engines: PostgreSQL clusters started from local binaries,
DuckDB, SQLite and real files; Docker where marked.

When ``SANDBOXER_REQUIRE_ENGINES=1`` (set by ``.ci/run``), a missing engine fails the test
instead of skipping it: in CI every postgres/docker test must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REQUIRE_ENGINES = os.environ.get("SANDBOXER_REQUIRE_ENGINES") == "1"


def engine_missing(reason: str) -> None:
    """Skip locally, fail in CI."""
    if REQUIRE_ENGINES:
        pytest.fail(f"required engine missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A throwaway PostgreSQL server for the whole test session."""
    from tests.pgcluster import PgCluster, find_pg_bin

    if find_pg_bin() is None:
        engine_missing("PostgreSQL server binaries (initdb, pg_ctl) not found")
    cluster = PgCluster(tmp_path_factory.mktemp("pg"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh empty database on the session cluster; its URL."""
    from tests.pgcluster import PgCluster

    assert isinstance(pg_cluster, PgCluster)
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """A client for a reachable Docker engine."""
    if shutil.which("docker") is None:
        engine_missing("docker CLI not found")
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:  # the SDK raises several unrelated types for "no engine"
        engine_missing(f"no Docker engine reachable: {type(e).__name__}")
    yield client
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses an engine fixture carries that engine's marker, so `-m` selects it."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"pg_cluster", "pg_url"}:
            item.add_marker(pytest.mark.postgres)
        if "docker_client" in fixtures:
            item.add_marker(pytest.mark.docker)
