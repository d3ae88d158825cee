"""Fixtures of the API tests."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server


@pytest.fixture()
def live_server(imported):
    """Serve the app on a free local port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, imported, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    server.server_close()
