"""Stop and reload requests: from real signals to this process and from other threads."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from kiosk.wakeup import Requests

LONG = 30.0  # a wait that only a request ends: were it to run out, the test would fail


@pytest.fixture
def requests() -> Iterator[Requests]:
    asked = Requests()
    asked.install_signals()
    try:
        yield asked
    finally:
        asked.close()


def signal_soon(number: int) -> threading.Thread:
    """The signal sent from another thread once the main thread is (about to be) waiting."""
    sender = threading.Thread(target=os.kill, args=(os.getpid(), number))
    sender.start()
    return sender


def test_sigterm_during_a_wait_ends_the_wait_and_asks_to_stop(requests):
    sender = signal_soon(signal.SIGTERM)
    while not requests.stop:
        requests.wait(LONG)
    sender.join()
    assert requests.stop and not requests.take_reload()


def test_sighup_during_a_wait_ends_it_and_asks_for_one_reload(requests):
    sender = signal_soon(signal.SIGHUP)
    requests.wait(LONG)
    sender.join()
    reloads = 0
    while not reloads:  # the handler runs on this thread, at the latest before the next wait
        requests.wait(LONG)
        reloads += requests.take_reload()
    assert reloads == 1 and not requests.take_reload() and not requests.stop


def test_many_sighups_before_the_loop_looks_make_one_reload(requests):
    for _ in range(200):
        os.kill(os.getpid(), signal.SIGHUP)
    requests.wait(LONG)
    assert requests.take_reload() and not requests.take_reload()


def test_another_thread_asking_to_stop_wakes_the_waiting_loop(requests):
    asker = threading.Thread(target=requests.ask_stop)
    asker.start()
    while not requests.stop:
        requests.wait(LONG)
    asker.join()


def test_a_request_made_before_the_wait_is_not_missed():
    asked = Requests()  # no signals installed: any thread may own the loop
    asked.ask_reload()
    asked.wait(LONG)
    assert asked.take_reload()
    asked.close()


def test_closing_gives_the_signals_back_to_the_handlers_they_had():
    before = signal.getsignal(signal.SIGHUP), signal.getsignal(signal.SIGTERM)
    asked = Requests()
    asked.install_signals()
    assert signal.getsignal(signal.SIGHUP) != before[0]
    asked.close()
    assert (signal.getsignal(signal.SIGHUP), signal.getsignal(signal.SIGTERM)) == before
