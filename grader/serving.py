"""The gunicorn worker of the web service: gunicorn's gthread worker, in which a connection
takes a thread only once it has sent something.

gunicorn's own gthread worker (24 and later) hands every new connection to its thread pool at
once, and the thread waits there up to 5 seconds for the request's first bytes. A few
connections that open and stay silent (a browser's speculative preconnections, a slow or
stalled client, a port scan) therefore hold every thread of a worker, and the requests of
other clients wait behind them: on 3 workers x 2 threads, 6 to 8 silent connections held a
``/healthz`` request for 9.8 seconds. Under a load of students who pause between submissions,
new connections waiting for their first request made the p99 latency 363-825 ms where the
median was 6-9 ms (``benchmarks/results/serving-before-after.md``).

Here a new connection waits on the worker's poller, like a kept-alive one between two requests,
and goes to a thread when it is readable. A connection that stays silent is closed after as
long as gunicorn would have let it wait (5 seconds in a thread, then the keep-alive timeout),
but without holding a thread meanwhile. A stopping worker gives its silent connections as long
as gunicorn gives its kept-alive ones (2 seconds), not their whole wait.

This reads gunicorn's ``ThreadWorker`` internals (``pending_conns``,
``on_pending_socket_readable``, ``TConn``), which is why ``pyproject.toml`` pins gunicorn to
the major version it was written for; the tests in ``tests/deploy/test_gunicorn.py`` fail
if they change.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from functools import partial

from gunicorn.workers import gthread

__all__ = ["ThreadWorker"]

# gunicorn's wait in a thread for a new connection's first bytes. A silent new connection is
# closed after this plus the keep-alive timeout: the same total as gunicorn, all on the poller.
FIRST_BYTES_SECONDS = gthread.DEFAULT_WORKER_DATA_TIMEOUT


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker; a new connection waits for its request on the poller."""

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client.setblocking(False)  # the thread that reads it sets it blocking again
        conn = gthread.TConn(self.cfg, client, address, listener.getsockname())
        conn.timeout = time.monotonic() + FIRST_BYTES_SECONDS + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def handle_exit(self, sig, frame) -> None:  # gunicorn's signal handler
        """Begin the graceful stop (SIGTERM); silent connections get what kept-alive ones get.

        Runs in the main thread, the only one that touches ``pending_conns``."""
        super().handle_exit(sig, frame)
        deadline = time.monotonic() + gthread.STOP_KEEPALIVE_LINGER
        for conn in self.pending_conns:
            conn.timeout = min(conn.timeout, deadline)
