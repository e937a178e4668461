"""Opaque, prefixed identifiers: readable in logs, unguessable, and never a row count."""

import os
import secrets
import socket

HOSTNAME_CHARS = 60  # process ids go into 100-character columns


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def process_id() -> str:
    """Names this process among all that share the database: host, pid and a nonce (a pid is
    reused after a restart; the nonce tells the two apart)."""
    return f"{socket.gethostname()[:HOSTNAME_CHARS]}-{os.getpid()}-{secrets.token_hex(3)}"
