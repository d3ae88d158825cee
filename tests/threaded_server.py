"""A WSGI app served over HTTP from a thread of the test process, for tests that need a real
HTTP peer (a browser, an LTI platform, an outside client)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serve_in_thread(wsgi_app: Callable[..., Any], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``wsgi_app`` on ``host`` (a free port) while the block runs; yield its base URL.

    Leaving the block waits for the requests still being handled: a request thread that
    outlived the server would give its database connection back after the test disposed of the
    engine, to a pool nobody closes (a ResourceWarning in whichever test runs next)."""
    httpd = make_server(host, 0, wsgi_app, threaded=True)
    httpd.daemon_threads = False  # so that server_close() joins the request threads
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
