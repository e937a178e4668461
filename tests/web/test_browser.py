"""The dashboard in a real browser against a real `vocalis serve` on SQLite: a person signs up,
follows the mailed link, logs in, makes a key, hears speech in the playground, sees it in their
usage, revokes the key (which then stops working) and logs out. Every page is photographed into
test-artifacts/screenshots/, and any console error or failed request fails the test.

The browser is the system's Chromium (`apt-get install chromium`), driven by Playwright by its
path: nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
BUILT = ROOT / "src" / "vocalis" / "web" / "dist"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
EMAIL = "grace@example.com"
PASSWORD = "analytical engine 1843"
CHROMIUM_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-sandbox",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Served:
    url: str
    database: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "vocalis", *args],
            env=self.env, input=stdin, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not (BUILT / "index.html").is_file():
        pytest.skip("the dashboard is not built: `make dashboard` (needs npm) builds it")
    work = tmp_path_factory.mktemp("browser")
    database = work / "vocalis.db"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOCALIS_")},
        "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "VOCALIS_STORAGE_PATH": str(work / "storage"),
        "VOCALIS_VOICES_DIR": str(work / "voices"),
        "VOCALIS_PORT": str(port),
        "VOCALIS_BCRYPT_COST": "4",
        "VOCALIS_LOG_LEVEL": "warning",
    }
    vocalis = [sys.executable, "-m", "vocalis"]
    subprocess.run([*vocalis, "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen([*vocalis, "serve"], env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vocalis serve stopped: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("vocalis serve did not become ready")
    yield Served(url, database, process, env)
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """The system's Chromium through Playwright, stopped with the module: Playwright's sync API
    keeps an event loop of its own, which must be gone before the async tests that follow."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium here: `apt-get install chromium` (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
    yield context.new_page()
    context.close()


@dataclass
class Watch:
    """What went wrong in the page: console errors, uncaught errors, failed requests, error
    answers."""

    problems: list[str] = field(default_factory=list)

    def console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def failed(self, request) -> None:  # type: ignore[no-untyped-def]
        if not _aborted_media(request):
            self.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def answered(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.request.method} {response.url}")


@pytest.fixture
def watched(page, served: Served) -> Watch:  # type: ignore[no-untyped-def]
    """The test's page, listened to; screenshots go to test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    watch = Watch()
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.problems.append(f"page error: {error}"))
    page.on("requestfailed", watch.failed)
    page.on("response", watch.answered)
    return watch


def _aborted_media(request) -> bool:  # type: ignore[no-untyped-def]
    """A request the page itself cancelled (a media element's range request it no longer needs,
    the favicon when the page moves on): not a failure. Refused connections and the like are."""
    return "ERR_ABORTED" in (request.failure or "")


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def speak_with(served: Served, key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(
        f"{served.url}/v1/tts", json={"text": "Key check."}, headers=headers, timeout=60
    )


def mailed_link(database: Path, to: str, path: str) -> str:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT text_body FROM mail_outbox WHERE to_address = ? ORDER BY created_at DESC",
            (to,),
        ).fetchall()
    for (body,) in rows:
        found = re.search(rf"https?://\S+{re.escape(path)}\?token=[\w\-]+", body)
        if found:
            return found.group(0)
    raise AssertionError(f"no {path} link mailed to {to}")


def test_a_new_person_signs_up_and_hears_speech(page, served: Served, watched: Watch) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    def go(path: str) -> None:
        page.goto(served.url + path)

    go("/")
    expect(page.get_by_role("link", name="Sign up").first).to_be_visible()
    shot(page, "landing")
    go("/pricing")
    expect(page.get_by_text("Pro").first).to_be_visible()
    shot(page, "pricing")

    go("/signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_test_id("mail-in-log")).to_be_visible()  # no mail service here: the log
    shot(page, "signup-done")

    link = mailed_link(served.database, EMAIL, "/verify")
    go(link[link.index("/verify") :])  # the link names this server's own address
    expect(page.get_by_text("Your email address is confirmed").first).to_be_visible()

    go("/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/overview")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    shot(page, "overview-new")

    go("/keys")
    page.get_by_label("Name").fill("browser test")
    page.get_by_role("button", name="Create key").click()
    secret_box = page.get_by_test_id("new-key-secret")
    expect(secret_box).to_contain_text("sk_live_")
    secret = re.search(r"sk_live_\w+", secret_box.inner_text()).group(0)  # type: ignore[union-attr]
    secret_box.locator("..").get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "keys")
    assert speak_with(served, secret).status_code == 200

    go("/playground")
    page.get_by_label("Text").fill("Hello from the Vocalis playground.")
    page.get_by_role("button", name="Generate").click()
    audio = page.get_by_test_id("playground-audio")
    expect(audio).to_be_visible(timeout=60_000)
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=playground-audio]');"
        " return a && Number.isFinite(a.duration) && a.duration > 0; }",
        timeout=30_000,
    )
    expect(page.get_by_test_id("request-cost")).to_be_visible()
    shot(page, "playground")

    go("/overview")
    recent = page.get_by_test_id("recent-requests")
    expect(recent).to_contain_text("/account/tts")
    shot(page, "overview")

    for name in ("jobs", "webhooks", "billing", "quickstart"):
        go(f"/{name}")
        page.wait_for_load_state("networkidle")
        shot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    go("/overview")
    shot(page, "overview-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    go("/keys")
    row = page.get_by_test_id("key-row").filter(has_text="browser test")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(row).to_contain_text(re.compile("revoked", re.IGNORECASE))
    refused = speak_with(served, secret)
    assert refused.status_code == 401 and refused.json()["code"] == "revoked_api_key"

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    go("/overview")
    page.wait_for_url("**/login?next=*")

    assert watched.problems == []


def test_an_operator_finds_and_suspends_an_account(page, served: Served, watched: Watch) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    def go(path: str) -> None:
        page.goto(served.url + path)

    operator, customer = "ops@example.com", "customer@example.com"
    for email in (operator, customer):
        served.cli("accounts", "create", "--email", email)
    served.cli("accounts", "set-password", "--email", operator, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    served.cli("accounts", "set-admin", "--email", operator)
    customer_key = served.cli("keys", "create", "--account", customer).strip().splitlines()[-1]
    assert speak_with(served, customer_key).status_code == 200

    go("/login")
    page.get_by_label("Email").fill(operator)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/overview")
    page.get_by_role("link", name="Admin overview").click()
    page.wait_for_url("**/admin")
    shot(page, "admin-overview")

    go("/admin/accounts")
    page.get_by_label("Search by email").fill("customer")
    expect(page.get_by_test_id("account-row")).to_have_count(1)  # the search has applied
    row = page.get_by_test_id("account-row").filter(has_text=customer)
    shot(page, "admin-accounts")
    row.get_by_role("button", name="Edit").click()
    page.get_by_role("button", name="Suspend", exact=True).click()
    page.get_by_role("button", name="Suspend account").click()
    expect(page.get_by_test_id("account-row").filter(has_text=customer)).to_contain_text(
        "suspended"
    )
    refused = speak_with(served, customer_key)
    assert refused.status_code == 401 and refused.json()["code"] == "account_suspended"

    go("/admin/audit")
    expect(page.get_by_text("account.update").first).to_be_visible()
    shot(page, "admin-audit")
    assert watched.problems == []
