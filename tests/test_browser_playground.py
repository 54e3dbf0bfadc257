"""The Agents Playground's own web page in headless Chromium (Debian's, driven by Python Playwright): an
officer assesses a contract by typing in the chat and completing the criteria card with clicks.

The contract is recorded first through the same Playground's HTTP interface (tests/playground.py), which is
quicker than typing twelve answers; everything after that is done in the page.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from connectors.sqlite_register import SqliteRegister
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import Status
from tests.conftest import require_system_package
from tests.playground import OFFICER, Playground, connect, missing_tools, servers

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=missing_tools() or "runs")

ARTIFACTS = Path(__file__).parent / "artifacts"
# The machine's network is closed: without these Chromium waits on connections it will never get.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEW_CONTRACT = (
    ("new", "called?"),
    ("Waste collection", "contract or a partnership"),
    ("contract", "which council"),
    ("South Ribble", "partner or supplier"),
    ("Green Bins Ltd", "worth a year"),
    ("£1.2m", "start"),
    ("1 April 2025", "end"),
    ("31 March 2032", "data"),
    ("yes", "describe"),
    ("skip", "corporate priorities"),
    ("skip", "responsible officer"),
    ("me", "Save this?"),
    ("save", "KCP-0001"),
)
# Clicked on the card: 4 of 5 met.
CHOICES = {"financial": "Yes", "priorities": "Yes", "risk": "No", "length": "Yes", "resource": "Yes"}
RISK_REASON = "Another firm could take over collections within a week."


async def _record_contract(playground: Playground) -> None:
    async with connect(playground) as chat:
        for text, expected in NEW_CONTRACT:
            answer = await chat.texts(text)
            assert expected.lower() in answer.lower(), (text, answer)


def _send(page: Page, text: str) -> None:
    """Type in the Playground's message box (a Lexical editor) and press Enter."""
    page.locator("[data-lexical-editor=true][role=textbox]").click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_an_officer_completes_the_criteria_card_in_the_playground_page() -> None:
    chromium = require_system_package("chromium", "chromium")
    with tempfile.TemporaryDirectory(prefix="kcpf-browser-") as temp:
        workdir = Path(temp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        with servers(data_dir, workdir) as running:
            playground = running.playgrounds[OFFICER]
            asyncio.run(_record_contract(playground))  # before Playwright, which runs its own event loop
            _assess_in_the_page(playground.url, chromium, workdir / "chromium-profile")
            register = SqliteRegister(data_dir / "register.sqlite3")
            try:
                [assessment] = register.assessments("KCP-0001")
                assert assessment.assessed_by == OFFICER.email
                assert {a.criterion: a.met for a in assessment.answers} == {
                    key: choice == "Yes" for key, choice in CHOICES.items()
                }
                risk = next(a for a in assessment.answers if a.criterion == "risk")
                assert risk.reason == RISK_REASON
                assert register.get("KCP-0001").status is Status.ASSESSED
            finally:
                register.close()


def _assess_in_the_page(url: str, chromium: str, profile: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(url)

            _send(page, "assess KCP-0001")
            page.get_by_text("1 of 5").first.wait_for()  # in the chat, and maybe in its preview
            _send(page, "form")
            card = page.locator(".ac-adaptiveCard").last
            card.get_by_role("button", name="Save").wait_for()
            for criterion in FRAMEWORK_2025.criteria:
                group = card.get_by_role("radiogroup", name=re.compile(f"^{re.escape(criterion.name)}"))
                group.get_by_role("radio", name=CHOICES[criterion.key]).check()
            card.get_by_role("textbox", name=re.compile("^Risk: reason")).fill(RISK_REASON)
            card.get_by_role("button", name="Save").click()
            page.get_by_text("Assessment saved for KCP-0001").first.wait_for()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "playground-assessment.png", full_page=True)
        finally:
            browser.close()
