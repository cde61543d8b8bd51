"""The central's database fixtures: every test that takes `central_db` runs twice, on a
SQLite file and on a database of the session's private PostgreSQL cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import Cluster, start_cluster

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | str]:
    """The session's cluster (started on first use), or why there is none."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        if isinstance(cluster, Cluster):
            cluster.stop()


def database_url(backend: str, folder: Path, cluster: Cluster | str) -> str:
    """A new, empty central database of `backend`: a SQLite path or a PostgreSQL URL."""
    if backend == "sqlite":
        return str(folder / "central.sqlite3")
    if isinstance(cluster, str):
        if os.environ.get("CI"):  # CI installs PostgreSQL: the half that needs it never skips there
            pytest.fail(cluster)
        pytest.skip(cluster)
    return cluster.fresh_database()


@pytest.fixture(params=BACKENDS)
def central_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty central database, once on SQLite and once on PostgreSQL."""
    backend: str = request.param
    cluster = request.getfixturevalue("pg_cluster") if backend == "postgresql" else ""
    url = database_url(backend, tmp_path, cluster)
    yield url
    if isinstance(cluster, Cluster):
        cluster.drop_database(url)


@pytest.fixture
def postgres_db(pg_cluster: Cluster | str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the private PostgreSQL cluster (for what only it does)."""
    url = database_url("postgresql", tmp_path, pg_cluster)
    yield url
    if isinstance(pg_cluster, Cluster):
        pg_cluster.drop_database(url)
