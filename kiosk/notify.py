"""systemd's readiness protocol (sd_notify) over $NOTIFY_SOCKET, without a dependency.

systemd hands a `Type=notify` service the path of a unix datagram socket; each datagram
is newline-separated ``KEY=value`` lines: ``READY=1`` when the kiosk is up,
``WATCHDOG=1`` to pet the watchdog, ``STATUS=...`` for `systemctl status`,
``STOPPING=1``/``RELOADING=1`` around a stop or reload. Outside systemd the variable is
unset and every call is a no-op, so the daemon runs the same from a terminal.

    notifier = Notifier.from_environment()
    notifier.ready("online, 0 pending")
    if notifier.watchdog_interval:      # pet at half the timeout systemd set
        ...
        notifier.watchdog()
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

SOCKET_VAR = "NOTIFY_SOCKET"
WATCHDOG_USEC_VAR = "WATCHDOG_USEC"
WATCHDOG_PID_VAR = "WATCHDOG_PID"


def socket_address(value: str) -> str | None:
    """The address to send to: a filesystem path, or an abstract name ('@x' → '\\0x')."""
    if value.startswith("@"):
        return "\0" + value[1:] if len(value) > 1 else None
    if value.startswith("/"):
        return value
    return None  # vsock (`vsock:CID:PORT`) and relative paths are not for a kiosk


def watchdog_timeout(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds of WatchdogSec= granted to this process, or None when no watchdog is on."""
    usec = environ.get(WATCHDOG_USEC_VAR, "")
    owner = environ.get(WATCHDOG_PID_VAR, "")
    if owner and owner != str(pid):
        return None  # the variable was inherited: it is meant for our parent
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


class Notifier:
    """Writes sd_notify datagrams; a silent no-op without a notify socket.

    A send never raises: systemd going away must not take the kiosk down with it.
    """

    def __init__(self, address: str | None, watchdog_timeout: float | None = None) -> None:
        self.address = address
        self.watchdog_timeout = watchdog_timeout
        self._socket: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier systemd asked for through the environment (os.environ by default)."""
        env = os.environ if environ is None else environ
        raw = env.get(SOCKET_VAR, "")
        address = socket_address(raw) if raw else None
        if raw and address is None:
            log.warning("event=notify ignored=%s value=%r", SOCKET_VAR, raw)
        return cls(address, watchdog_timeout(env, os.getpid()))

    @property
    def enabled(self) -> bool:
        """True when running under a service manager that listens."""
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """How often to pet the watchdog: half its timeout, as sd_watchdog_enabled advises."""
        return self.watchdog_timeout / 2 if self.watchdog_timeout else None

    def send(self, *lines: str) -> bool:
        """Send one datagram of ``KEY=value`` lines; True if it left, False otherwise."""
        if self.address is None or not lines:
            return False
        payload = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(payload, self.address)
        except OSError as error:
            if not self._warned:  # once: a gone manager would otherwise flood the log
                log.warning("event=notify reachable=false address=%r error=%r",
                            self.address, error.strerror or str(error))
                self._warned = True
            return False
        self._warned = False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd the kiosk is up (reader and display open)."""
        return self.send("READY=1", *_status(status))

    def watchdog(self) -> bool:
        """Pet the watchdog: call only while the reader loop is known alive."""
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """One line shown by `systemctl status kiosk`."""
        return self.send(*_status(text))

    def reloading(self) -> bool:
        """A config reload begins; call ready() when it is done (or refused)."""
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}")

    def stopping(self, status: str | None = None) -> bool:
        """The kiosk is shutting down on purpose."""
        return self.send("STOPPING=1", *_status(status))

    def close(self) -> None:
        """Release the socket; later sends open a new one."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _status(text: str | None) -> tuple[str, ...]:
    return () if text is None else (f"STATUS={text}",)
