"""Length-prefixed framing shared by the parent and the zygote (standard library only).

A message is a 4-byte frame count followed by frames, each an 8-byte length and its bytes.
The reader refuses a message larger than ``max_bytes`` before reading it.
"""

import struct

_COUNT = struct.Struct("!I")
_LENGTH = struct.Struct("!Q")
MAX_FRAMES = 16


class WireError(Exception):
    """The peer closed the pipe or sent a malformed or oversized message."""


def _read_exact(fd: int, n: int, os_read) -> bytes:
    chunks = []
    while n > 0:
        chunk = os_read(fd, min(n, 1 << 20))
        if not chunk:
            raise WireError("peer closed the pipe")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_message(fd: int, frames: list[bytes], os_write) -> None:
    """Write ``frames`` as one message to ``fd``."""
    parts = [_COUNT.pack(len(frames))]
    for frame in frames:
        parts.append(_LENGTH.pack(len(frame)))
        parts.append(frame)
    data = memoryview(b"".join(parts))
    while data:
        written = os_write(fd, data)
        data = data[written:]


def read_message(fd: int, max_bytes: int, os_read) -> list[bytes]:
    """Read one message from ``fd``; raise WireError if it is malformed or too large."""
    (count,) = _COUNT.unpack(_read_exact(fd, _COUNT.size, os_read))
    if count > MAX_FRAMES:
        raise WireError(f"too many frames ({count})")
    frames, total = [], 0
    for _ in range(count):
        (length,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size, os_read))
        total += length
        if total > max_bytes:
            raise WireError(f"message larger than {max_bytes} bytes")
        frames.append(_read_exact(fd, length, os_read) if length else b"")
    return frames
