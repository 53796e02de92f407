"""Ports on 127.0.0.1 for tests that start listeners or need an address nothing answers on."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The same thing, named for its other use: an address where nothing listens.
dead_port = free_port
