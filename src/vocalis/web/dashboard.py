"""Serving the built dashboard: hashed assets cached for a year, `index.html` never cached, and
every client-side route (`/keys`, `/playground`, …) answered with `index.html` so a reload or a
link lands on the right page. The API keeps its paths: an unknown `/v1/…` is still a JSON 404.

The pages carry a strict Content-Security-Policy (scripts, styles and connections from this
origin only; audio from `blob:` for the playground) and the usual security headers.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

BUILT = Path(__file__).parent / "dist"  # where `npm run build` writes (the wheel carries it)
API_PREFIXES = (
    "/v1/", "/auth/", "/account/", "/billing/", "/admin/api", "/webhooks/", "/docs", "/redoc",
    "/openapi.json", "/health", "/readyz", "/livez", "/metrics",
)  # fmt: skip
IMMUTABLE = "public, max-age=31536000, immutable"  # file names carry their content's hash
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def built_dashboard(configured: Path | None) -> Path | None:
    """The directory holding the built app (`index.html`): the configured one, else the
    package's own; None when that has no build."""
    directory = configured if configured is not None else BUILT
    return directory.resolve() if (directory / "index.html").is_file() else None


def install_dashboard(app: FastAPI, dist: Path | None) -> None:
    """Serve the app at `/`; without a build, `/` shows the API docs instead.

    The app is the router's default — what answers when no route matches — rather than a
    catch-all route, so every API route (and its `405` for a wrong method) keeps precedence,
    routes added later included."""
    if dist is None:

        @app.get("/", include_in_schema=False)
        async def no_dashboard() -> RedirectResponse:
            return RedirectResponse("/docs")

        return

    not_found = app.router.default

    async def dashboard(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        wanted = scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
        if not wanted or path.startswith(API_PREFIXES):
            await not_found(scope, receive, send)
            return
        response = _answer(dist, path)
        if response is None:
            await not_found(scope, receive, send)
            return
        await response(scope, receive, send)

    app.router.default = dashboard


def _answer(dist: Path, path: str) -> Response | None:
    """A hashed asset (cached for good), a top-level file, or the app's page; None for a
    missing asset (a 404, not the page)."""
    if path.startswith("/assets/"):
        asset = _inside(dist / "assets", path.removeprefix("/assets/"))
        if asset is None:
            return None
        return FileResponse(asset, headers={"Cache-Control": IMMUTABLE, **_NOSNIFF})
    file = _inside(dist, path.lstrip("/")) if path.strip("/") else None
    if file is not None:  # favicon.svg, robots.txt: the top of the build, not hashed
        return FileResponse(file, headers={"Cache-Control": "public, max-age=3600", **_NOSNIFF})
    return FileResponse(dist / "index.html", media_type="text/html", headers=PAGE_HEADERS)


_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def _inside(root: Path, name: str) -> Path | None:
    """`root/name` if it is a file within `root` (no `..` escapes), else None."""
    try:
        path = (root / name).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path
