"""The import graph: each package imports only from the layers below it, never upward, never
in a circle — so accounts, billing and the dashboard plug in without tangling."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import vocalis

SOURCE = Path(vocalis.__file__).parent

# Lowest first. A package may import its own modules and those of lower layers only.
LAYERS: list[set[str]] = [
    {"kit"},  # with config.py, the one Settings: plumbing every layer reads
    {"engine"},
    {"audio"},
    {"storage", "webhooks", "mail", "web"},  # web: serving the built dashboard
    {"accounts"},
    {"usage"},
    {"billing"},  # plans, payment: reads usage; the meter gets its plans injected
    {"synthesis"},
    {"jobs"},
    {"admin"},
    {"api"},
    {"runtime", "models"},  # models.py gathers every table for migrations
    {"app"},
    {"cli"},
    {"__main__"},
]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
WEB_AND_DATABASE = ("fastapi", "starlette", "sqlalchemy", "vocalis.kit.db", "vocalis.kit.deps")


def _package_of(module: str) -> str:
    """`vocalis.usage.meter` → `usage`; `vocalis.config` → `kit`."""
    package = module.split(".")[1]
    return "kit" if package == "config" else package


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    return _imports_in(path.read_text())


def _imports_in(source: str) -> Iterator[tuple[str, int]]:
    """Every module `source` imports (at any depth, lazy imports included), with its line."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:  # `from vocalis import app` names a module too
                if node.module == "vocalis":
                    yield f"vocalis.{alias.name}", node.lineno


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).with_suffix("")
        parts = relative.parts
        if parts == ("__init__",):
            continue
        yield _package_of(f"vocalis.{parts[0]}"), path


def _violations() -> list[str]:
    found = []
    for package, path in _modules():
        assert package in RANK, f"{package} is in no layer: add it to LAYERS"
        for module, line in _imports(path):
            if not module.startswith("vocalis.") or module == "vocalis.__version__":
                continue
            target = _package_of(module)
            if target == package or target not in RANK:
                continue
            if RANK[target] >= RANK[package]:
                where = f"{path.relative_to(SOURCE.parent)}:{line}"
                found.append(f"{where}: {package} imports {module} (layer {target})")
    return found


def test_no_package_imports_upward_or_sideways() -> None:
    assert _violations() == []


def test_nothing_below_the_app_imports_the_api_package() -> None:
    upward = [
        f"{path.relative_to(SOURCE.parent)}:{line}"
        for package, path in _modules()
        if RANK[package] < RANK["api"]
        for module, line in _imports(path)
        if module == "vocalis.api" or module.startswith("vocalis.api.")
    ]
    assert upward == []


def test_accounts_and_usage_do_not_import_each_other() -> None:
    crossing = [
        f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
        for package, path in _modules()
        if package == "accounts"
        for module, line in _imports(path)
        if module.startswith("vocalis.usage")
    ]  # usage may use accounts (whose principal it meters); accounts never use usage
    assert crossing == []


def test_the_engine_knows_nothing_of_the_web_or_the_database() -> None:
    leaks = [
        f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
        for package, path in _modules()
        if package == "engine"
        for module, line in _imports(path)
        if module.startswith(WEB_AND_DATABASE)
        or (module.startswith("vocalis.") and _package_of(module) not in ("engine", "kit"))
    ]
    assert leaks == []


def test_the_walk_sees_lazy_and_package_level_imports() -> None:
    source = "def serve():\n    from vocalis import api\n    import vocalis.usage.quota\n"
    assert {module for module, _ in _imports_in(source)} >= {"vocalis.api", "vocalis.usage.quota"}
