"""nginx in front of a real gunicorn, with the deployment's configuration (deploy/nginx):
clients that send a byte and stall, or a body at a crawl, do not hold the web threads."""

from __future__ import annotations

import socket
import statistics
import time
from contextlib import ExitStack
from itertools import count

import httpx
import pytest

from benchmarks.load import nginx
from tests.api.helpers import ANSWERS, SUBMIT_URL
from tests.deploy.conftest import free_port, serve_app

pytestmark = pytest.mark.skipif(
    not nginx.available(), reason="nginx is not installed (apt-get install nginx-light)"
)
SLOW_CLIENTS = 50
_users = count()


@pytest.fixture()
def one_worker(tmp_path):
    """The app under gunicorn with gunicorn.conf.py: 1 worker of 2 threads, so two stalled
    connections would be enough to hold it."""
    yield from serve_app(tmp_path, workers=1, threads=2)


@pytest.fixture()
def proxied(one_worker, tmp_path):
    """(base URL of nginx in front of the one-worker gunicorn, gunicorn's base URL, token)."""
    base, token, *_ = one_worker
    upstream = base.removeprefix("http://")
    with nginx.nginx_in_front(upstream, tmp_path / "nginx", free_port()) as front:
        yield front, base, token


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def _open_slow_clients(base: str, stack: ExitStack) -> None:
    """Open ``SLOW_CLIENTS`` connections that stall: half sent one byte of a request, half
    sent their headers and one byte of a body they said was 1000 bytes long."""
    host, port = _address(base)
    for number in range(SLOW_CLIENTS):
        sock = stack.enter_context(socket.create_connection((host, port)))
        if number % 2:
            sock.sendall(b"G")
        else:
            sock.sendall(
                b"POST "
                + SUBMIT_URL.encode()
                + b" HTTP/1.1\r\nHost: "
                + host.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
    time.sleep(0.5)  # read by the server in front (and, without one, by gunicorn's workers)


def _submission_seconds(base: str, token: str) -> float:
    """Return how long one API submission takes, on a connection of its own."""
    started = time.monotonic()
    response = httpx.post(
        base + SUBMIT_URL,
        json={"user": f"normal-{next(_users)}", "answers": ANSWERS},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return time.monotonic() - started


def test_slow_clients_do_not_delay_a_normal_request_behind_nginx(proxied):
    """50 clients stalled in their request line or body: a submission through nginx is
    answered within 100 ms of its time without them (gunicorn alone: seconds, below)."""
    front, _gunicorn, token = proxied
    for _ in range(3):
        _submission_seconds(front, token)  # warm: the worker has traced the exercise
    alone = statistics.median(_submission_seconds(front, token) for _ in range(7))
    with ExitStack() as stack:
        _open_slow_clients(front, stack)
        beside = [_submission_seconds(front, token) for _ in range(7)]
    assert statistics.median(beside) - alone < 0.100, (alone, beside)
    assert max(beside) < 1.0, (alone, beside)


def test_without_the_proxy_the_same_clients_hold_gunicorns_threads(one_worker):
    """What the proxy is for: the same stalled clients straight at gunicorn hold its threads,
    and a submission waits seconds for one."""
    base, token, *_ = one_worker
    _submission_seconds(base, token)
    with ExitStack() as stack:
        _open_slow_clients(base, stack)
        started = time.monotonic()
        try:
            _submission_seconds(base, token)
        except httpx.TimeoutException:
            pass
        waited = time.monotonic() - started
    assert waited > 1.0


def test_a_body_over_the_limit_is_a_413_problem_from_nginx(proxied):
    front, _gunicorn, token = proxied
    body = b'{"user": "big", "answers": {"shape": "' + b"x" * 300_000 + b'"}}'
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def chunks():
        yield body[:1000]
        yield body[1000:]

    for content in (body, chunks()):  # with a Content-Length, then chunked
        response = httpx.post(front + SUBMIT_URL, content=content, headers=headers, timeout=30)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 413


def test_a_chunked_body_is_read_whole_and_passed_on(proxied):
    front, _gunicorn, token = proxied
    body = b'{"user": "chunked", "answers": {"shape": "n\xc3\x97m"}}'

    def chunks():
        yield body[:10]
        yield body[10:]

    response = httpx.post(
        front + SUBMIT_URL,
        content=chunks(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201 and response.json()["user"] == "chunked"


def test_a_request_line_over_8_kib_is_a_414_problem(proxied):
    """gunicorn alone answered a request line over 4094 bytes with an HTML page; behind nginx
    the limit is 8 KiB and the answer a problem, and gunicorn takes every line nginx passes."""
    front, gunicorn, token = proxied
    headers = {"Authorization": f"Bearer {token}"}
    long_cursor = "/api/v1/scores?cursor=" + "a" * 9000
    response = httpx.get(front + long_cursor, headers=headers, timeout=10)
    assert response.status_code == 414
    assert response.headers["content-type"] == "application/problem+json"
    just_under = "/api/v1/scores?limit=1&x=" + "a" * 7000  # read by the app: unknown field x
    assert httpx.get(front + just_under, headers=headers, timeout=10).status_code == 422
    assert httpx.get(gunicorn + just_under, headers=headers, timeout=10).status_code == 422


def test_the_deployed_configuration_sets_the_timeouts_and_limits():
    site = nginx.render_site("web:8000", "8080")
    for directive in (
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "proxy_buffering on;",
        "proxy_request_buffering on;",
        "client_max_body_size 256k;",
        "server web:8000;",
        "listen 8080;",
    ):
        assert directive in site
    assert "$proxy_add_x_forwarded_for" in site  # nginx's variables are left to nginx
    from grader.config import Config

    assert Config().MAX_CONTENT_LENGTH == 256 * 1024  # client_max_body_size matches it


@pytest.mark.slow
def test_nginx_cuts_stalled_headers_and_bodies_after_its_timeouts(proxied):
    """Clients stalled in their headers or in their body are disconnected after nginx's 10 s
    (client_header_timeout, client_body_timeout), not kept for ever."""
    front, _gunicorn, _token = proxied
    host, port = _address(front)
    with (
        socket.create_connection((host, port)) as in_headers,
        socket.create_connection((host, port)) as in_body,
    ):
        in_headers.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        in_body.sendall(
            b"POST " + SUBMIT_URL.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        for sock in (in_headers, in_body):
            sock.settimeout(30)
            assert sock.recv(4096) == b""  # closed by nginx, without an answer
        waited = time.monotonic() - started
    assert 9 <= waited <= 20
