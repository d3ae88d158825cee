"""``grader sandbox check`` reports the protections in force and fails loudly without one;
limits by cgroup v2 where one is delegated, rlimits with a warning where none is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli.operations import sandbox as sandbox_cli
from grader.sandbox import (
    Limits,
    SandboxSetupError,
    Status,
    check_sandbox,
    health,
    run_code,
    seccomp_policy,
)
from grader.sandbox import cgroup as cgroup_module

from .conftest import BWRAP_MISSING, SKIP_REASON

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(BWRAP_MISSING, reason=SKIP_REASON)]


@pytest.fixture(autouse=True)
def no_cgroup_setting(monkeypatch):
    monkeypatch.delenv(cgroup_module.CGROUP_ENV, raising=False)


def test_check_reports_every_protection():
    ok, report = check_sandbox()
    assert ok, report
    for expected in (
        "bubblewrap: ",
        "namespaces: user, pid, network",
        "seccomp: libseccomp-compiled, default deny",
        "read-only: /, /sandbox/site",
        "/tmp (16384 KiB tmpfs)",
        "/dev/shm (64 KiB tmpfs)",
        "keyctl, socket and fork refused",
    ):
        assert expected in report, report
    # no delegated cgroup here: the fallback is said plainly
    assert "WARNING cgroup:" in report and "rlimits only" in report


def test_check_command_exits_zero_and_prints_the_report():
    result = CliRunner().invoke(sandbox_cli, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ") and "seccomp:" in result.output


def test_check_fails_loudly_without_libseccomp(monkeypatch):
    def missing():
        raise SandboxSetupError("libseccomp cannot be loaded (test); install 'libseccomp2'")

    monkeypatch.setattr(seccomp_policy, "_pyseccomp", missing)
    ok, report = check_sandbox()
    assert not ok and "libseccomp" in report
    result = CliRunner().invoke(sandbox_cli, ["check"])
    assert result.exit_code == 1 and "unavailable: seccomp: libseccomp" in result.output


def test_no_job_runs_without_the_filter(monkeypatch):
    def missing():
        raise SandboxSetupError("libseccomp cannot be loaded (test)")

    monkeypatch.setattr(seccomp_policy, "_pyseccomp", missing)
    seccomp_policy.job_filter.cache_clear()
    try:
        result = run_code("def f():\n    return {}\n", "f", [{}], warm=False)
    finally:
        seccomp_policy.job_filter.cache_clear()
    assert result.status is Status.SANDBOX_UNAVAILABLE and "libseccomp" in result.message


def test_check_fails_when_the_probe_finds_a_writable_path(monkeypatch):
    # the probe job is told that /tmp must be read-only: it is writable, so the check fails
    monkeypatch.setattr(health, "masked_dirs", lambda: [Path("/tmp")])
    ok, report = check_sandbox()
    assert not ok and "writable where it must be read-only: /tmp" in report


def test_a_configured_cgroup_that_is_not_one_fails_closed(monkeypatch, tmp_path):
    monkeypatch.setenv(cgroup_module.CGROUP_ENV, str(tmp_path))
    ok, report = check_sandbox()
    assert not ok and "is not a cgroup v2 directory" in report
    result = run_code("def f():\n    return {}\n", "f", [{}], warm=False)
    assert result.status is Status.SANDBOX_UNAVAILABLE and "cgroup" in result.message


def fake_cgroup(root: Path, controllers: str) -> Path:
    """A directory shaped like a delegated cgroup v2 (the kernel's files, written by hand)."""
    (root / "cgroup.controllers").write_text(controllers)
    (root / "cgroup.subtree_control").write_text("")
    return root


def test_a_cgroup_without_the_memory_controller_is_refused(tmp_path):
    parent = fake_cgroup(tmp_path, "cpu pids")
    with pytest.raises(SandboxSetupError, match="controller.s. memory not delegated"):
        cgroup_module.prepare_parent(parent)


def test_cgroup_limits_each_job_and_notices_the_oom_kill(tmp_path):
    parent = fake_cgroup(tmp_path, "cpu memory pids")
    group = cgroup_module.ZygoteCgroup(parent)
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (group.path / "memory.swap.max").read_text() == "0"
    assert int((group.path / "pids.max").read_text()) <= 16
    (group.path / "memory.current").write_text("50000000\n")
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    limits = Limits()
    group.limit_job(limits.memory_bytes, limits.tmpfs_bytes)
    ceiling = int((group.path / "memory.max").read_text())
    assert ceiling == 50_000_000 + limits.memory_bytes + limits.tmpfs_bytes + (32 << 20)
    assert not group.job_ran_out_of_memory()
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
    assert group.job_ran_out_of_memory()
    argv = group.wrap(["/usr/bin/bwrap", "--x"])
    assert argv[:2] == ["/bin/sh", "-c"] and argv[3] == str(group.path / "cgroup.procs")
    for name in os.listdir(group.path):
        (group.path / name).unlink()
    group.remove()
    assert not group.path.exists()


REAL_CGROUP = os.environ.get("GRADER_TEST_CGROUP", "")


@pytest.mark.skipif(
    not REAL_CGROUP, reason="GRADER_TEST_CGROUP names no delegated cgroup v2 on this host"
)
def test_real_cgroup_holds_memory_that_rlimit_as_does_not_count(monkeypatch):
    """On a host with a delegated cgroup v2 sub-tree: the job is limited and reported."""
    monkeypatch.setenv(cgroup_module.CGROUP_ENV, REAL_CGROUP)
    ok, report = check_sandbox()
    assert ok and "cgroup: v2 at" in report, report
    source = "import numpy as np\ndef f():\n    a = np.ones(300 << 17)\n    return {}\n"
    result = run_code(source, "f", [{}], Limits(memory_bytes=256 << 20), warm=False)
    assert result.status is Status.MEMORY_LIMIT
