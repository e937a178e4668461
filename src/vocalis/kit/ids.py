"""Opaque, prefixed identifiers: readable in logs, unguessable, and never a row count."""

import os
import random
import secrets
import socket

HOSTNAME_CHARS = 60  # process ids go into 100-character columns


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


_labels = random.Random(secrets.randbits(128))  # seeded once from the system's entropy


def request_label() -> str:
    """An id for a request: unique, but not a secret, so not worth a system call each time."""
    return f"req_{_labels.getrandbits(96):024x}"


def process_id() -> str:
    """Names this process among all that share the database: host, pid and a nonce (a pid is
    reused after a restart; the nonce tells the two apart)."""
    return f"{socket.gethostname()[:HOSTNAME_CHARS]}-{os.getpid()}-{secrets.token_hex(3)}"
