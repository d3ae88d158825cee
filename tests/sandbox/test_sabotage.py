"""Sabotage: with confinement switched off, the deny tests' attacks succeed.

This proves the attack suite bites: the same probes that the confined sandbox refuses (reading
the repository, the host's /etc/passwd, writing outside the work directory, reaching a
loopback listener, forking) all work in the unconfined development mode.
"""

from __future__ import annotations

import logging
import socket

import pytest

from grader.sandbox import Status, run_code

from .conftest import BWRAP_MISSING, FAST, SKIP_REASON
from .test_attacks import REPO_FILE, probe

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]


def run_both(body: str) -> tuple[str, str]:
    source = probe(body)
    confined = run_code(source, "attack", [{}], FAST, unconfined=False)
    unconfined = run_code(source, "attack", [{}], FAST, unconfined=True)
    assert confined.status is Status.OK and unconfined.status is Status.OK
    assert confined.confined and not unconfined.confined
    return confined.stdout, unconfined.stdout


def test_sabotage_unconfined_mode_reads_the_repository(caplog):
    caplog.set_level(logging.WARNING, logger="grader.sandbox")
    confined, unconfined = run_both(f"try_('src', lambda: open({str(REPO_FILE)!r}).read())")
    assert "src:NO:" in confined
    assert "src:OK:" in unconfined
    assert any("UNCONFINED" in record.getMessage() for record in caplog.records)


def test_sabotage_unconfined_mode_reads_etc_passwd_and_writes_outside(tmp_path):
    target = tmp_path / "planted.txt"
    body = f"""
def fork_and_wait():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return os.waitpid(pid, 0)[1]
try_('passwd', lambda: open('/etc/passwd').read())
try_('write', lambda: open({str(target)!r}, 'w').write('x'))
try_('fork', fork_and_wait)
"""
    confined, unconfined = run_both(body)
    for label in ("passwd", "write", "fork"):
        assert f"{label}:NO:" in confined
        assert f"{label}:OK:" in unconfined
    assert target.exists()


def test_sabotage_unconfined_mode_reaches_loopback():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        body = f"try_('connect', lambda: socket.create_connection(('127.0.0.1', {port}), 1))"
        confined, unconfined = run_both(body)
    assert "connect:NO:" in confined
    assert "connect:OK:" in unconfined


def test_sabotage_unconfined_result_says_so_loudly(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX_UNCONFINED", "1")
    result = run_code("def f():\n    return {}\n", "f", [{}], FAST)
    assert not result.confined
    assert result.message.startswith("UNCONFINED RUN")
