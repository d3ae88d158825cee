"""The thread-served app of the HTTP tests waits for its requests when the block ends."""

from __future__ import annotations

import time
import urllib.request

from tests.threaded_server import serve_in_thread


def test_leaving_the_block_waits_for_the_requests_being_handled():
    """The response's ``close`` (where Flask pops the app context and gives the database
    connection back) runs after the client has its body; leaving the block waits for it."""
    closed = []

    class Body(list):
        def close(self) -> None:
            time.sleep(1.5)
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return Body([b"ok"])

    with serve_in_thread(app) as base_url:
        with urllib.request.urlopen(base_url + "/") as response:
            assert response.read() == b"ok"
    assert closed == [True]
