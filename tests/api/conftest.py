"""Fixtures of the API tests."""

from __future__ import annotations

import pytest

from tests.threaded_server import serve_in_thread


@pytest.fixture()
def live_server(imported):
    """Serve the app on a free local port in a thread; yield its base URL."""
    with serve_in_thread(imported) as base_url:
        yield base_url
