"""A TCP proxy on loopback that a test can stop, start and black-hole: a database outage
as a client sees it, without touching the database server other tests share."""

from __future__ import annotations

import asyncio
import threading


class TcpProxy:
    """Forward 127.0.0.1:<port> to ``target``; ``stop()`` refuses connections and cuts the open
    ones, ``blackhole()`` accepts connections but never answers, ``start()`` forwards again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = "forward"
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.mode == "blackhole":
            try:
                await reader.read()  # hold the connection, answer nothing
            except (ConnectionError, OSError):
                pass
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self, listen: bool) -> None:
        if self._server is not None and not listen:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def start(self) -> TcpProxy:
        """Listen (again, on the same port) and forward; return self."""
        self.mode = "forward"
        if self._server is None:
            self._call(self._start())
        return self

    def stop(self) -> None:
        """Cut every connection and stop listening: clients get 'connection refused'."""
        self._call(self._stop(listen=False))

    def blackhole(self) -> None:
        """Cut every connection; keep accepting new ones but never answer them."""
        self.mode = "blackhole"
        self._call(self._stop(listen=True))

    async def _cancel_all(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """Stop and end the proxy's thread."""
        self.stop()
        self._call(self._cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
