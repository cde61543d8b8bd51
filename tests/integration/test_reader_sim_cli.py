"""`kiosk-sim field` and `kiosk-sim scenario`, driven like a person would."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.adapters.reader import CardRead, Reader
from kiosk.config import ReaderSection
from sim.cli import main, serve_commands
from sim.harness import ReaderRig, free_port
from sim.scenario import load_scenario, parse_scenario
from tests.support.kiosk_config import make_config


def section(tmp_path: Path) -> ReaderSection:
    return make_config(tmp_path, reader={"poll_interval": 0.02, "retry_initial": 0.05}).reader


def test_typed_commands_tap_cards_and_bad_lines_only_get_a_message(tmp_path: Path) -> None:
    out = io.StringIO()
    with ReaderRig(section(tmp_path)) as rig:
        lines = [
            "tap ntag213 04A1B2C3D4E5F6 hold=0",
            "tap ntag999",
            "tap ntag213 NOTHEX",
            "'unbalanced",
            "fly away",
            "place mifare-classic-1k 5A6B7C8D",
            "status",
            "remove",
            "quit",
            "tap felica",  # after quit: never played
        ]
        serve_commands(rig.field, lines, out)
        assert rig.wait_for(lambda: len(rig.reads) == 2)
    text = out.getvalue()
    assert text.count("? ") == 4
    assert "unknown card kind 'ntag999'" in text and "is not hex" in text
    assert [read.uid.hex().upper() for read in rig.reads] == ["04A1B2C3D4E5F6", "5A6B7C8D"]


def test_the_field_command_serves_a_reader_from_another_process(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    field = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "field", "--port", str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert field.stdout is not None and "virtual field" in field.stdout.readline()
        rig_section = section(tmp_path).model_copy(update={"path": f"udp:127.0.0.1:{port}"})
        reads: list[CardRead] = []
        got = threading.Event()
        reader = Reader(rig_section, lambda read: (reads.append(read), got.set()))
        stop = threading.Event()
        thread = threading.Thread(target=reader.run, args=(stop,))
        thread.start()
        out, _ = field.communicate("tap felica 012E4C1A23456789 hold=0.2\nquit\n", timeout=30)
        assert got.wait(10)
        stop.set()
        thread.join(10)
    finally:
        field.kill()
        field.wait()
    assert "tapped <felica 012E4C1A23456789>" in out
    assert reads[0].uid == bytes.fromhex("012E4C1A23456789")


def test_a_scenario_that_cannot_be_read_is_refused_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[cards]\nx = { kind = "ntag213" }\n[[steps]]\nat = 1\ntap = "y"\n')
    assert main(["scenario", str(bad), "--port", str(free_port(socket.SOCK_DGRAM))]) == 2
    assert "steps[1]: no card named 'y'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": [{"at": 0}]}, "needs exactly one of"),
        ({"steps": [{"at": -1, "remove": True}]}, "'at' must be seconds"),
        ({"steps": [{"at": 0, "remove": True, "colour": "red"}]}, "unknown key 'colour'"),
        ({"steps": [{"at": 0, "fail": 0}]}, "'fail' must be how many seconds"),
        ({"cards": {"a": {"uid": "04"}}}, "cards.a: needs a kind"),
        ({"cards": {"a": {"kind": "felica", "uid": "0102"}}}, "cards.a: a FeliCa IDm"),
    ],
)
def test_scenario_mistakes_name_the_entry(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scenario(data, "s.toml")


def test_the_shipped_morning_has_every_kind_of_customer() -> None:
    morning = load_scenario("morning")
    kinds = {morning.kinds[step.card] for step in morning.steps if step.card}
    assert {"ntag213", "mifare-classic-1k", "felica", "random-id", "type-b"} <= kinds
    assert any(step.action == "place" for step in morning.steps)
    assert any(step.action == "fail" for step in morning.steps)


@pytest.mark.parametrize("command", [["field"], ["scenario", "morning"]])
def test_a_port_already_taken_is_refused_with_a_message(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert main([*command, "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
