"""The tests' private PostgreSQL cluster starts wherever the suite runs."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import make_url

from tests.support.postgres import Cluster, binaries, pgserver_binaries


def test_a_cluster_starts_from_the_binaries_pgservers_wheel_ships() -> None:
    # what a newcomer's machine without Debian's package and without root falls back to
    folder = pgserver_binaries()
    if folder is None:
        if os.environ.get("CI") and os.uname().machine == "x86_64":
            pytest.fail("pgserver is a dev dependency on x86_64 Linux: pip install -e '.[dev]'")
        pytest.skip("pgserver ships binaries for x86_64 Linux only")
    cluster = Cluster(folder)
    try:
        url = cluster.fresh_database()
        database = make_url(url).database
        with psycopg.connect(host=str(cluster.socket), user="central", dbname=database) as conn:
            row = conn.execute("SELECT current_database(), 6 * 7").fetchone()
        assert row == (database, 42)
    finally:
        cluster.stop()


def test_debians_binaries_are_preferred_when_both_are_there() -> None:
    found = binaries()
    assert found is not None
    if str(found).startswith("/usr/lib/postgresql/"):
        assert found != pgserver_binaries()
    else:
        pytest.skip("Debian's postgresql package is not installed here")
