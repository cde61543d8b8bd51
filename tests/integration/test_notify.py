"""kiosk.notify against a real unix datagram socket standing in for systemd's."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.notify import Notifier


class Listener:
    """A bound datagram socket: what systemd listens on as $NOTIFY_SOCKET."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(5.0)  # a deadline, not a pause: recv returns as soon as sent

    def receive(self) -> list[str]:
        return self.sock.recv(4096).decode("utf-8").split("\n")


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    listening = Listener(str(tmp_path / "notify.sock"))
    yield listening
    listening.sock.close()


@pytest.fixture
def notifier(listener: Listener, monkeypatch: pytest.MonkeyPatch) -> Iterator[Notifier]:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.sock.getsockname())
    with Notifier.from_environment() as sending:
        yield sending


def test_ready_reaches_the_socket_with_its_status_in_one_datagram(
    notifier: Notifier, listener: Listener
) -> None:
    assert notifier.ready("online, 0 pending")
    assert listener.receive() == ["READY=1", "STATUS=online, 0 pending"]


def test_watchdog_status_and_stopping_each_arrive_as_sent(
    notifier: Notifier, listener: Listener
) -> None:
    notifier.watchdog()
    notifier.status("offline, 3 pending, last tap 09:41")
    notifier.stopping()
    assert listener.receive() == ["WATCHDOG=1"]
    assert listener.receive() == ["STATUS=offline, 3 pending, last tap 09:41"]
    assert listener.receive() == ["STOPPING=1"]


def test_a_newline_in_a_status_cannot_forge_another_field(
    notifier: Notifier, listener: Listener
) -> None:
    notifier.status("card name\nREADY=1")
    assert listener.receive() == ["STATUS=card name READY=1"]


def test_reloading_carries_the_monotonic_clock_systemd_asks_for(
    notifier: Notifier, listener: Listener
) -> None:
    notifier.reloading()
    fields = dict(line.split("=", 1) for line in listener.receive())
    assert fields["RELOADING"] == "1"
    assert int(fields["MONOTONIC_USEC"]) > 0


def test_an_abstract_socket_name_starting_with_at_is_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    listening = Listener("\0" + name)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        with Notifier.from_environment() as notifier:
            assert notifier.ready()
        assert listening.receive() == ["READY=1"]
    finally:
        listening.sock.close()


def test_without_notify_socket_every_call_is_a_quiet_no_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier.from_environment()
    assert not notifier.enabled
    assert not notifier.ready("up")
    assert not notifier.watchdog()
    assert notifier.watchdog_interval is None


def test_a_vanished_systemd_socket_is_reported_not_raised(
    notifier: Notifier, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    path = listener.sock.getsockname()
    listener.sock.close()
    os.unlink(path)
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    warnings = [r for r in caplog.records if "event=notify reachable=false" in r.getMessage()]
    assert len(warnings) == 1


def test_the_watchdog_is_petted_at_half_the_timeout_systemd_granted() -> None:
    env = {"WATCHDOG_USEC": "15000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier.from_environment(env)
    assert notifier.watchdog_timeout == 15.0
    assert notifier.watchdog_interval == 7.5


def test_a_watchdog_meant_for_another_process_is_ignored() -> None:
    env = {"WATCHDOG_USEC": "15000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier.from_environment(env).watchdog_interval is None


@pytest.mark.parametrize("usec", ["", "0", "soon", "-5"])
def test_a_missing_or_bad_watchdog_usec_means_no_watchdog(usec: str) -> None:
    assert Notifier.from_environment({"WATCHDOG_USEC": usec}).watchdog_interval is None


@pytest.mark.parametrize("value", ["relative.sock", "@", "vsock:2:1234"])
def test_an_unusable_notify_socket_value_disables_notification(value: str) -> None:
    assert not Notifier.from_environment({"NOTIFY_SOCKET": value}).enabled
