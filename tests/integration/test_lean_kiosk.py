"""A kiosk installs and runs without the central server's libraries.

The base package is the kiosk; FastAPI, uvicorn, SQLAlchemy, Alembic and psycopg come
only with the `central` extra, and the running daemon never imports any of them (nor
the `central` package)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

from sim.notify import NotifyListener

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "starlette", "orjson",
               "central")

# `kiosk run` as the console script runs it, plus a note of every module when it ends
# (`kiosk run` leaves through os._exit, after its own clean shutdown: no atexit)
RUN_AND_LIST = """
import os, sys
leave = os._exit
def listed_exit(code):
    open(sys.argv[1], "w").write("\\n".join(sorted(sys.modules)))
    leave(code)
os._exit = listed_exit
from kiosk.cli import main
sys.exit(main(["--config", sys.argv[2], "run"]))
"""


def _names(requirements: list[str]) -> set[str]:
    return {r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()
            .lower() for r in requirements}


def test_the_base_package_is_the_kiosk_and_the_server_is_an_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = _names(project["dependencies"])
    central = _names(project["optional-dependencies"]["central"])
    assert {"nfcpy", "gpiozero", "luma.oled", "requests", "pydantic", "pillow"} <= base
    assert {"fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg"} <= central
    assert not base & central
    assert "loyalty-kiosk[central]" in project["optional-dependencies"]["dev"]


def test_the_running_kiosk_never_imports_the_servers_libraries(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\n'
        '[reader]\npath = "udp:127.0.0.1:9"\n[display]\ndriver = "virtual"\n'
        '[lights]\nfactory = "mock"\n[central]\nurl = "http://127.0.0.1:9"\n'
    )
    listing = tmp_path / "modules.txt"
    with NotifyListener(tmp_path / "notify.sock") as notify:
        env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
        daemon = subprocess.Popen(
            [sys.executable, "-c", RUN_AND_LIST, str(listing), str(config)],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert notify.wait("READY=1", timeout=60) is not None
        finally:
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    loaded = listing.read_text().split()
    assert "kiosk.app" in loaded and "requests" in loaded  # it did run the daemon
    assert [m for m in loaded if m.split(".")[0] in SERVER_ONLY] == []
