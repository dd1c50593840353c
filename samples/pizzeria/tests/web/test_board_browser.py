"""The kitchen board in a real headless Chromium, against a real uvicorn on SQLite: an order
placed through the API appears without a reload, "Start cooking" moves it to the oven and
the free slots go down, "Mark ready" and "Dispatch" send it on; the board follows through
Server-Sent Events.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright for Python; Playwright's
own browser downloads are never used. When Chromium is missing and the tests run as root
it is installed with apt-get; otherwise the test is skipped naming Chromium (failed under
``CI=true``). A screenshot of the board is saved in the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pizzeria.web.server import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STAFF_TOKEN = "staff-test-token"
WAIT_MS = 10_000


def unavailable(what: str, reason: object) -> None:
    """Skip (or, under CI=true, fail) because ``what`` cannot be used."""
    message = f"{what} is not available ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def install_chromium() -> None:
    """``apt-get install chromium``, as root; raises if it fails."""
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium"],
    ):
        subprocess.run(command, check=True, env=environment, timeout=900, capture_output=True)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed first when it is missing and we are root."""
    if shutil.which("chromium") is None:
        if os.geteuid() != 0:
            unavailable("Chromium (apt-get install chromium, as root)", "not installed")
        try:
            install_chromium()
        except (OSError, subprocess.SubprocessError) as error:
            unavailable("Chromium (apt-get install chromium)", error)
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"Chromium at {CHROMIUM}", "not found there")
    return CHROMIUM


@pytest.fixture
def board_url(api: FastAPI, database_url: str | None) -> Iterator[str]:
    """The service on SQLite, served by uvicorn in a thread."""
    assert database_url is not None and database_url.startswith("sqlite")
    with serve_in_thread(api) as url:
        yield url


def place_order(url: str, name: str, phone: str) -> str:
    body = {
        "phone": phone,
        "name": name,
        "address": "Via Roma 12, Napoli",
        "lines": [{"pizza": "quattro-formaggi", "size": "large", "extras": ["olives"]}],
    }
    answer = httpx.post(f"{url}/orders", json=body, trust_env=False)
    assert answer.status_code == 201, answer.text
    order_id: str = answer.json()["id"]
    return order_id


@pytest.mark.backends("sqlite")
def test_the_board_shows_orders_live_and_starts_cooking_them(
    chromium: str, board_url: str, tmp_path: Path
) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as error:
        unavailable("Playwright for Python (pip install playwright)", error)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        errors: list[Any] = []
        page.on("pageerror", lambda error: errors.append(error))
        try:
            page.goto(f"{board_url}/", wait_until="domcontentloaded")
            expect(page).to_have_url(f"{board_url}/board")
            page.fill("#token", STAFF_TOKEN)
            page.click("#token-form button")
            expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
            expect(page.locator("#free-slots")).to_have_text("3")
            expect(page.locator("#confirmed .empty")).to_be_visible()

            first = place_order(board_url, "Giulia Verdi", "+39 081 555 0101")
            second = place_order(board_url, "Marco Rossi", "+39 081 555 0202")

            queued = page.locator(f'#confirmed li[data-order-id="{first}"]')
            expect(queued).to_contain_text("Giulia Verdi", timeout=WAIT_MS)
            expect(queued).to_contain_text(
                "1 \N{MULTIPLICATION SIGN} large quattro-formaggi + olives"
            )
            expect(page.locator("#confirmed li.card")).to_have_count(2, timeout=WAIT_MS)

            queued.get_by_role("button", name="Start cooking").click()

            cooking = page.locator(f'#cooking li[data-order-id="{first}"]')
            expect(cooking).to_be_visible(timeout=WAIT_MS)
            expect(page.locator(f'#confirmed li[data-order-id="{first}"]')).to_have_count(0)
            expect(page.locator("#free-slots")).to_have_text("2", timeout=WAIT_MS)
            expect(page.locator("#slot-lights .busy")).to_have_count(1)
            expect(page.locator(f'#confirmed li[data-order-id="{second}"]')).to_be_visible()
            expect(page.locator("#message")).to_be_hidden()
            page.screenshot(path=str(tmp_path / "board.png"), full_page=True)

            cooking.get_by_role("button", name="Mark ready").click()
            ready = page.locator(f'#ready li[data-order-id="{first}"]')
            expect(ready).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#free-slots")).to_have_text("3", timeout=WAIT_MS)
            ready.get_by_placeholder("driver").fill("Paolo")
            ready.get_by_role("button", name="Dispatch").click()
            expect(page.locator("#ready li.card")).to_have_count(0, timeout=WAIT_MS)
            assert httpx.get(f"{board_url}/orders/{first}", trust_env=False).json()["driver"] == (
                "Paolo"
            )
            assert errors == []
        except BaseException:
            page.screenshot(path=str(tmp_path / "board-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
