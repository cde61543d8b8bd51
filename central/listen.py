"""The server's listening socket, bound before uvicorn starts so `serve` can print the
port it got (port 0: the kernel picks a free one)."""

from __future__ import annotations

import socket


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound, listening TCP socket (port 0: the kernel picks a free one).

    Its protocol is named (IPPROTO_TCP, not 0): asyncio turns Nagle off (TCP_NODELAY) only
    on connections whose socket says TCP. With Nagle on, uvicorn's second write of an
    answer (the body after the headers) waited for the client's delayed ACK: 40 ms a
    request, half of a sync round trip.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock
