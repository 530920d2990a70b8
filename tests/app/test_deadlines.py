"""The client-side socket deadline: a wait past it ends at once; a wait within it is never touched."""

from __future__ import annotations

import socket
import time

from app.deadlines import SocketDeadlines


def test_a_read_with_no_answer_ends_at_its_deadline() -> None:
    ours, silent_peer = socket.socketpair()
    with ours, silent_peer:
        started = time.monotonic()
        with SocketDeadlines(0.3).bound(ours.fileno()):
            assert ours.recv(10) == b""  # shut down under the blocked read: end of stream
        assert 0.25 <= time.monotonic() - started < 2


def test_a_socket_whose_wait_ended_in_time_is_left_open() -> None:
    deadlines = SocketDeadlines(0.2)
    ours, peer = socket.socketpair()
    with ours, peer:
        for _ in range(3):
            with deadlines.bound(ours.fileno()):
                peer.sendall(b"x")
                assert ours.recv(1) == b"x"
        time.sleep(0.4)  # every deadline has passed since
        peer.sendall(b"still open")
        assert ours.recv(20) == b"still open"
