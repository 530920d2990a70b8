"""A TCP proxy on 127.0.0.1 that delays every byte by half a round trip in each direction.

The kernel here has no netem, so a long link is made in user space: each chunk read from one side is
written to the other ``rtt / 2`` seconds later, in order. Optionally each direction of a connection
is also held to a rate (MB/s), as a single TCP flow over a real long link is; otherwise bandwidth is not
limited. Each direction holds at most ``WINDOW`` bytes in flight (like a TCP window), so a sender that
outruns the link is slowed by backpressure instead of growing the proxy's memory.

Run: ``python -m benchmarks.latency_proxy LISTEN_PORT TARGET_PORT RTT_MS [MB_PER_SECOND]``.
"""

from __future__ import annotations

import asyncio
import sys

CHUNK = 256 * 1024
WINDOW = 16 * 1024 * 1024


async def _delayed_copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float,
                        rate: float | None) -> None:
    loop = asyncio.get_running_loop()
    link_free_at = 0.0  # with a rate: when the link has sent everything queued so far
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=WINDOW // CHUNK)

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            sent_at = loop.time()
            if rate:
                link_free_at = sent_at = max(sent_at, link_free_at) + len(data) / rate
            await queue.put((sent_at + delay, data))
        await queue.put((loop.time() + delay, b""))
        await delivering
    except (ConnectionError, asyncio.CancelledError):
        delivering.cancel()


async def _serve(target_port: int, delay: float, rate: float | None, client_reader: asyncio.StreamReader,
                 client_writer: asyncio.StreamWriter) -> None:
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_delayed_copy(client_reader, server_writer, delay, rate),
                         _delayed_copy(server_reader, client_writer, delay, rate), return_exceptions=True)
    for writer in (client_writer, server_writer):
        writer.close()


async def main(listen_port: int, target_port: int, rtt_ms: float, mb_per_second: float | None) -> None:
    delay, rate = rtt_ms / 2000, mb_per_second * 1e6 if mb_per_second else None
    server = await asyncio.start_server(lambda r, w: _serve(target_port, delay, rate, r, w), "127.0.0.1",
                                        listen_port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    listen, target, rtt = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(main(listen, target, rtt, float(sys.argv[4]) if len(sys.argv) > 4 else None))
