"""Fault injection for botocore clients: canned S3 error answers from a ``before-send`` hook."""

from __future__ import annotations

import io
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _RawBody(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def s3_error(status: int, code: str) -> AWSResponse:
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse("https://injected", status, {"Content-Type": "application/xml"}, _RawBody(body))


def fail_first(client: Any, operation: str, times: int, status: int, code: str) -> list[str]:
    """Make the first ``times`` attempts at ``operation`` fail; returns a log of every attempt."""
    attempts: list[str] = []

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(request.url)
        return s3_error(status, code) if len(attempts) <= times else None

    client.meta.events.register(f"before-send.s3.{operation}", hook)
    return attempts


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers: a hung S3."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:  # closed
                return

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of an S3 emulator that resets the answer to any request whose request
    line holds ``cut`` after ``after`` bytes: one broken stream (S3 dropping a paused listener), the rest intact.
    The emulator closes each connection after one answer, so a connection is one request."""

    def __init__(self, upstream: str, cut: str, after: int = 64 * 1024) -> None:
        self.upstream = upstream.removeprefix("http://").split(":")
        self.cut, self.after = cut.encode(), after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection((self.upstream[0], int(self.upstream[1])))
        first = client.recv(65536)
        cutting = self.cut in first.split(b"\r\n", 1)[0]
        upstream.sendall(first)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        sent = 0
        with client, upstream:
            while chunk := upstream.recv(65536):
                if cutting and sent + len(chunk) > self.after:
                    client.sendall(chunk[: self.after - sent])
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                    self.resets += 1
                    return
                client.sendall(chunk)
                sent += len(chunk)

    def close(self) -> None:
        self.listener.close()


class RefusingProxy:
    """A TCP proxy on 127.0.0.1 in front of a server (PostgreSQL) that can refuse: ``refuse()`` closes its
    port and resets every open connection, as a server going down does; ``restore()`` listens again.
    ``freeze()`` keeps every connection open and accepts new ones but passes no byte on, as a stopped
    (SIGSTOP) server or a network partition does; ``thaw()`` lets the bytes through again."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream  # a Unix socket's path
        probe = socket.create_server(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()  # a connection accepted while refuse() runs is reset too
        self.flowing = threading.Event()
        self.flowing.set()
        self.restore()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def restore(self) -> None:
        with self.lock:
            self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def refuse(self) -> None:
        with self.lock:
            if self.listener is not None:
                self.listener.close()
                self.listener = None
            self._reset(self.connections)
            self.connections.clear()

    @staticmethod
    def _reset(connections: list[socket.socket]) -> None:
        for connection in connections:
            try:  # shutdown first: a thread blocked reading it keeps a bare close() from taking effect
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by refuse()
                return
            try:
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:  # refused meanwhile
                    self._reset([client, upstream])
                    continue
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(source, sink, self.flowing), daemon=True).start()


def pipe(source: socket.socket, sink: socket.socket, flowing: threading.Event | None = None) -> None:
    """Bytes from ``source`` to ``sink`` until either closes; each waits for ``flowing`` when one is given."""
    try:
        while chunk := source.recv(65536):
            if flowing is not None:
                flowing.wait()
            sink.sendall(chunk)
    except OSError:
        pass
