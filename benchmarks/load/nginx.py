"""Run Debian's nginx with the deployment's proxy configuration (``deploy/nginx``) in front of
a gunicorn on loopback: for the deploy tests and the load test behind the proxy.

nginx runs in the foreground as a child process, listening on 127.0.0.1 only, with its pid
file, logs and temporary files in a folder of the caller's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "grader.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def available() -> bool:
    """Return True when an nginx binary is installed (``apt-get install nginx-light``)."""
    return os.access(NGINX, os.X_OK)


def render_site(upstream: str, listen: str) -> str:
    """Return the deployment's server configuration for ``upstream`` (host:port) listening on
    ``listen`` (here 127.0.0.1:PORT), substituted as nginx's image does (only these two names:
    nginx's own ``$variables`` stay)."""
    template = string.Template(TEMPLATE.read_text())
    return template.safe_substitute(GRADER_UPSTREAM=upstream, NGINX_PORT=listen)


def main_config(folder: Path, site: Path) -> str:
    """Return an nginx.conf that keeps everything (pid, logs, temporary files) in ``folder``
    and includes ``site``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers may then write to folder
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
daemon off;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {folder / "access.log"};
{temp}
    include {site};
}}
"""


@contextmanager
def nginx_in_front(upstream: str, folder: Path, port: int) -> Iterator[str]:
    """Run nginx on 127.0.0.1:``port`` in front of ``upstream``; yield its base URL; stop it."""
    folder.mkdir(parents=True, exist_ok=True)
    site = folder / "grader.conf"
    site.write_text(render_site(upstream, f"127.0.0.1:{port}"))
    config = folder / "nginx.conf"
    config.write_text(main_config(folder, site))
    command = [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)]
    subprocess.run([*command, "-t", "-q"], check=True, capture_output=True)
    with (folder / "nginx.out").open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "nginx did not start: " + (folder / "error.log").read_text()
                    ) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
