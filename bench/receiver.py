"""The loopback webhook receiver: answers every POST 200 at once and records when each
lead id first arrived.

It runs as its own process (`python -m bench.receiver PORT`), so it never competes for
the GIL with the client or worker being measured, and it is asyncio with a minimal
HTTP/1.1 keep-alive parser rather than `http.server`, so that it is not what limits the
raw POST rate either.

Control, on the same port: `GET /stats` returns `{"count", "first", "last", "arrivals":
{lead id: time}}` (times from `time.time()`); `POST /reset` forgets everything.
"""

import asyncio
import json
import sys
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Arrivals:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.times: dict[str, float] = {}

    def record(self, body: bytes) -> None:
        now = time.time()
        self.count += 1
        self.first = self.first or now
        self.last = now
        try:
            lead_id = json.loads(body).get("id")
        except (ValueError, AttributeError):
            return
        if isinstance(lead_id, str):
            self.times.setdefault(lead_id, now)

    def stats(self) -> bytes:
        body = json.dumps(
            {"count": self.count, "first": self.first, "last": self.last, "arrivals": self.times}
        ).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        return head.encode() + b"\r\n\r\n" + body


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class Connection(asyncio.Protocol):
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end])
            total = end + 4 + content_length(head)
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            assert self.transport is not None
            self.transport.write(self.answer(head.split(b" ", 2)[:2], body))

    def answer(self, request_line: list[bytes], body: bytes) -> bytes:
        if request_line == [b"GET", b"/stats"]:
            return self.arrivals.stats()
        if request_line == [b"POST", b"/reset"]:
            self.arrivals.reset()
        else:
            self.arrivals.record(body)
        return OK


async def serve(port: int) -> None:
    arrivals = Arrivals()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(arrivals), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
