"""The filesystem and namespace layout of the sandbox, as a bubblewrap command line.

The sandbox sees, read-only: the system's shared libraries, the Python interpreter binary, its
shared library and standard library (with site-packages masked by an empty tmpfs), the allowed
packages alone under ``/sandbox/site`` and the child code under ``/sandbox/lib``. It sees no
/etc, /home, /root contents beyond the interpreter, no repository, no instance folder and no
environment variables except the few set here.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
from pathlib import Path

CHILD_DIR = Path(__file__).resolve().parent / "child"
CHILD_FILES = ("wire.py", "confine.py", "harness.py", "zygote.py")
SANDBOX_SITE = "/sandbox/site"
SANDBOX_LIB = "/sandbox/lib"
FORBIDDEN_PACKAGES = ("grader",)
SANDBOX_ENV = {
    "HOME": "/tmp",
    "PATH": "/nonexistent",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class SandboxSetupError(RuntimeError):
    """The sandbox cannot be built on this machine (no bwrap, a package not found, ...)."""


def find_bwrap() -> str | None:
    """Return the path of the bubblewrap binary, or None when it is not installed."""
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None
    )


def package_dirs(name: str) -> list[Path]:
    """Return the directories to expose for the top-level package ``name``.

    That is the package directory and, if present, its vendored ``<name>.libs`` sibling.
    Raises SandboxSetupError for a forbidden or missing package.
    """
    if name.split(".")[0] in FORBIDDEN_PACKAGES or not name.isidentifier():
        raise SandboxSetupError(f"package {name!r} may not be exposed to student code")
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SandboxSetupError(f"package {name!r} is not installed as a package directory")
    package = Path(next(iter(spec.submodule_search_locations))).resolve()
    dirs = [package]
    libs = package.parent / f"{name}.libs"
    if libs.is_dir():
        dirs.append(libs.resolve())
    return dirs


def _interpreter_binds() -> list[str]:
    executable = Path(sys.executable).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    args = ["--ro-bind", str(executable), str(executable)]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        libdir = sysconfig.get_config_var("LIBDIR")
        soname = sysconfig.get_config_var("INSTSONAME")
        if libdir and soname and (Path(libdir) / soname).exists():
            shared = str(Path(libdir) / soname)
            args += ["--ro-bind", shared, shared]
    args += ["--ro-bind", str(stdlib), str(stdlib)]
    for masked in masked_dirs():
        # ``--remount-ro /`` does not reach mounts below it: the mask is made read-only itself
        args += ["--size", "4096", "--tmpfs", str(masked), "--remount-ro", str(masked)]
    return args


def masked_dirs() -> list[Path]:
    """Return the interpreter's site directories hidden by an empty, read-only tmpfs."""
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    return [p for p in (stdlib / "site-packages", stdlib / "dist-packages") if p.is_dir()]


def _system_binds() -> list[str]:
    args: list[str] = []
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for top in ("/lib", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
    candidates = [f"/usr/lib/{multiarch}", f"/lib/{multiarch}", "/usr/lib64", "/lib64"]
    seen: set[str] = set()
    for path in candidates:
        if not multiarch and path.endswith("/"):
            continue
        real = os.path.realpath(path)
        if os.path.isdir(path) and real not in seen and not os.path.islink(path):
            seen.add(real)
            args += ["--ro-bind", path, path]
    return args


def zygote_command(
    packages: tuple[str, ...], confined: bool, seccomp_fd: int | None = None
) -> list[str]:
    """Return the argv that starts a zygote (under bwrap when ``confined``); bwrap loads the
    seccomp program readable from ``seccomp_fd`` (inherited by bwrap) for the zygote.

    Raises SandboxSetupError when bwrap or a package is missing.
    """
    python = str(Path(sys.executable).resolve())
    if not confined:
        site = str(package_dirs(packages[0])[0].parent) if packages else "/nonexistent"
        return [python, "-I", "-S", "-B", str(CHILD_DIR / "zygote.py"), "unconfined", site]
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxSetupError("bubblewrap (bwrap) is not installed")
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--uid",
        "65534",
        "--gid",
        "65534",
        # Capabilities exist only inside the sandbox's own user namespace; the zygote needs
        # them to build each job's namespaces, and every student process drops them all.
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_SYS_ADMIN",
        "--cap-add",
        "CAP_SETPCAP",
    ]
    for key, value in SANDBOX_ENV.items():
        args += ["--setenv", key, value]
    args += _system_binds() + _interpreter_binds()
    for name in packages:
        for directory in package_dirs(name):
            args += ["--ro-bind", str(directory), f"{SANDBOX_SITE}/{directory.name}"]
    for name in CHILD_FILES:
        args += ["--ro-bind", str(CHILD_DIR / name), f"{SANDBOX_LIB}/{name}"]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # the zygote's own /tmp; every job mounts a fresh, capped one over it
        "--size",
        "1048576",
        "--tmpfs",
        "/tmp",
        "--dir",
        "/sandbox/site",
        "--chdir",
        "/tmp",
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        *(["--seccomp", str(seccomp_fd)] if seccomp_fd is not None else []),
        python,
        "-I",
        "-S",
        "-B",
        f"{SANDBOX_LIB}/zygote.py",
        "confined",
        SANDBOX_SITE,
    ]
    return args
