"""systemd's end of sd_notify, for `kiosk run` started as a child by tests and benchmarks.

    >>> with NotifyListener(tmp / "notify.sock") as notify:          # doctest: +SKIP
    ...     kiosk = subprocess.Popen(..., env={**os.environ, "NOTIFY_SOCKET": str(notify.path)})
    ...     ready_at = notify.wait("READY=1", timeout=60)
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

EVER = float("-inf")


class NotifyListener:
    """A unix datagram socket bound at `path`, as systemd's $NOTIFY_SOCKET; a thread records
    each line the daemon says with the time.monotonic() it arrived."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._arrived = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        # closing a socket does not wake a recv() blocked on it in another thread: the
        # listener looks up every 0.2 s and ends once close() made recv() fail
        self._sock.settimeout(0.2)
        threading.Thread(target=self._listen, name="notify-listener", daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            at = time.monotonic()
            with self._arrived:
                self.messages.extend((at, line) for line in data.decode(errors="replace").splitlines())
                self._arrived.notify_all()

    def times(self, line: str, since: float = EVER) -> list[float]:
        """When `line` arrived, each time after `since` (time.monotonic())."""
        with self._arrived:
            return [at for at, said in self.messages if said == line and at > since]

    def wait(self, line: str, timeout: float, since: float = EVER) -> float | None:
        """When `line` first arrived after `since`, waiting up to `timeout` seconds for it;
        None if it did not."""
        with self._arrived:
            self._arrived.wait_for(lambda: self.times(line, since), timeout)
            arrivals = self.times(line, since)
        return arrivals[0] if arrivals else None

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> NotifyListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
