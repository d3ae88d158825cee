"""A webhook receiver for the tests: a threaded HTTP server on loopback that checks every
request's signature with the function docs/lms-integration.md gives, answers 503 while it is
"down", and de-duplicates accepted events by their id, as the guide tells receivers to."""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "lms-integration.md"


def documented_verify() -> Any:
    """Return ``verify_webhook`` as the guide defines it (its Python block, executed)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (source,) = [b for b in blocks if "def verify_webhook" in b]
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    return namespace["verify_webhook"]


@dataclass
class Received:
    """One request: its event id and type, whether its signature verified, what it got."""

    event_id: str
    event_type: str
    body: bytes
    signed: bool
    status: int


@dataclass
class Receiver:
    """The receiver's state: its secret (set once the hook is made), whether it is down, every
    request and the ids it accepted (each counted once per acceptance)."""

    secret: str = ""
    down: bool = False
    requests: list[Received] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def serve(receiver: Receiver) -> tuple[ThreadingHTTPServer, str]:
    """Start the receiver on a free loopback port; return the server and its hook URL."""
    verify = documented_verify()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signed = verify(receiver.secret, body, self.headers.get("Grader-Signature", ""))
            event_id = self.headers.get("Grader-Event-Id", "")
            with receiver.lock:
                if receiver.down:
                    status = 503
                elif not signed:
                    status = 401
                else:
                    status = 204
                    # A real receiver skips an id it has seen; counting shows there was none.
                    receiver.accepted[event_id] += 1
                receiver.requests.append(
                    Received(
                        event_id,
                        self.headers.get("Grader-Event-Type", ""),
                        body,
                        signed,
                        status,
                    )
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/hook?course=default"
