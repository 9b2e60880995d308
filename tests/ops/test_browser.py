"""The dashboard in real headless Chromium: sign in, see the agents, watch one change live after ``jido
send``, see a crash become a dead letter, redrive it as admin, be refused without the admin token."""

from __future__ import annotations

import contextlib
import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

import jido
from jido.cli import cli
from jido.runtime.runtime import Runtime

from .browser import CHROMIUM_ARGS, Live, chromium_path, live_runtime, screenshot_dir
from .helpers import ADMIN, TOKENS, VIEWER, Counter, Session, Worker

TIMEOUT_MS = 15_000  # the longest a page may take to show what a test waits for


SESSIONS = 12  # sessions that fall asleep a moment after they start


async def _setup(rt: Runtime) -> None:
    await rt.start_agent(Counter, id="counter-1")
    for index in range(30):
        await rt.start_agent(Worker, id=f"worker-{index:03d}")
    for index in range(SESSIONS):
        session = await rt.start_agent(Session, id=f"session-{index:03d}")
        if index == 3:
            await session.call(jido.Signal(type="session.later", source="/t"))  # a timer: pending work


@pytest.fixture
def live() -> Iterator[Live]:
    chromium_path()
    with live_runtime(_setup, tokens=dict(TOKENS)) as served:
        yield served


@pytest.fixture
def browser() -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _jido(live: Live, *args: str) -> str:
    url = f"ws://127.0.0.1:{live.gateway.port}/"
    result = CliRunner().invoke(cli, [*args, "--url", url, "--token", ADMIN], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _sign_in(browser: Any, live: Live, token: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(live.server.url)
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#conn.live")
    return page


def _count(page: Any) -> int:
    return int(json.loads(page.text_content("#agent-state"))["count"])


def test_dashboard_end_to_end(live: Live, browser: Any, tmp_path: pathlib.Path) -> None:
    """Agents, live state, a crash as a dead letter, redrive as admin, refusal without admin."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    shots = screenshot_dir(tmp_path)
    page = _sign_in(browser, live, ADMIN)
    expect(page.locator("#who")).to_have_text("alice (admin)")
    expect(page.locator("#charts")).to_be_visible()
    page.screenshot(path=str(shots / "overview.png"))

    page.click("#nav a[href='#/agents']")
    # Awake or asleep, every agent is counted once; the sessions fall asleep a moment after they start.
    expect(page.locator("#agents-range")).to_have_text("1-43 of 43")
    expect(page.locator("#agents-note")).to_contain_text(f"then {SESSIONS} hibernated, oldest sleeper first")
    page.fill("#agents-filter", "counter-")
    expect(page.locator("#agents-range")).to_have_text("1-1 of 1")
    page.select_option("#agents-status", "hibernated")
    expect(page.locator("#agents-range")).to_have_text("no agents match")
    page.fill("#agents-filter", "session-00")
    expect(page.locator("#agents-range")).to_have_text("1-10 of 10")
    page.select_option("#agents-status", "")
    page.fill("#agents-filter", "00")  # worker-000..009 (live, sorted), then session-000..009 (asleep)
    expect(page.locator("#agents-table tr[data-status=hibernated]")).to_have_count(10)
    expect(page.locator("#agents-table tbody tr").first).to_have_attribute("data-agent", "worker-000")
    expect(page.locator("#agents-table tr[data-agent=session-003]")).to_contain_text("hibernated · timers")
    page.click("#agents-table th[data-key=id]")  # id descending: the live rows turn, the sleepers do not
    expect(page.locator("#agents-table tbody tr").first).to_have_attribute("data-agent", "worker-009")
    expect(page.locator("#agents-table tbody tr").nth(10)).to_have_attribute("data-status", "hibernated")
    page.screenshot(path=str(shots / "agents.png"))

    page.click("#agents-table a[href='#/agent/session-003']")
    expect(page.locator("#agent-status")).to_have_text("hibernated")
    expect(page.locator("#agent-pending")).to_have_text("yes: timers or cron jobs will wake it")
    expect(page.locator("#agent-state-note")).to_have_text("hibernated; state loads when it wakes")
    page.screenshot(path=str(shots / "hibernated-agent.png"))
    assert live.runtime.whereis("session-003") is None  # looking did not wake it
    page.click("#wake-agent")  # an admin may wake it (it falls asleep again a moment later)
    expect(page.locator("#toast")).to_have_text("woken, running")

    page.click("#nav a[href='#/tree']")
    expect(page.locator("#tree")).to_contain_text("counter-1")
    page.screenshot(path=str(shots / "tree.png"))

    page.goto(live.server.url + "#/agent/counter-1")
    expect(page.locator("#agent-state")).to_contain_text('"count": 0')
    _jido(live, "send", "counter.add", "--data", '{"by": 5}')
    expect(page.locator("#agent-state")).to_contain_text('"count": 5')
    expect(page.locator("#agent-events")).to_contain_text("jido.signal.handled")
    page.screenshot(path=str(shots / "agent.png"))

    # An odd count makes "counter.picky" raise: the agent crashes and the signal becomes a dead letter.
    _jido(live, "send", "counter.picky")
    page.click("#nav a[href='#/dead-letters']")
    row = page.locator("#dead-letters-table tr[data-letter]").first
    expect(row).to_contain_text("counter.picky")
    expect(row).to_contain_text("odd count")
    letter = row.get_attribute("data-letter")
    page.screenshot(path=str(shots / "dead-letters.png"))

    # Without the admin token: no buttons, and the API refuses a redrive sent by hand.
    viewer = _sign_in(browser, live, VIEWER)
    viewer.goto(live.server.url + "#/dead-letters")
    expect(viewer.locator("#dead-letters-table tr[data-letter]").first).to_be_visible()
    expect(viewer.locator("button[data-redrive]")).to_have_count(0)
    refused = viewer.evaluate(
        """async (id) => {
            const session = await (await fetch('/api/session')).json();
            const r = await fetch(`/api/dead-letters/${id}/redrive`, {method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-Jido-CSRF': session.csrf}, body: '{}'});
            return [r.status, (await r.json()).error];
        }""",
        letter,
    )
    assert refused == [403, "this needs an admin token"]

    # As admin: make the count even, then redrive; the signal is handled this time.
    _jido(live, "send", "counter.add", "--data", '{"by": 1}')
    page.goto(live.server.url + f"#/dead-letter/{letter}")
    expect(page.locator("#dead-letter-signal")).to_contain_text("counter.picky")
    page.screenshot(path=str(shots / "dead-letter.png"))
    page.click("#redrive")
    expect(page.locator("#toast")).to_contain_text("handled by counter-1")
    page.goto(live.server.url + "#/agent/counter-1")
    expect(page.locator("#agent-state")).to_contain_text('"count": 7')
    page.goto(live.server.url + "#/dead-letters")
    expect(page.locator(f"#dead-letters-table tr[data-letter='{letter}']")).to_have_count(0)

    page.click("#nav a[href='#/bus']")
    expect(page.locator("#bus-subscriptions")).to_contain_text("agent:counter-1")
    page.screenshot(path=str(shots / "bus.png"))

    page.click("#nav a[href='#/stream']")
    expect(page.locator("#stream-pattern")).to_have_value("**")
    page.fill("#stream-pattern", "counter.forward")
    page.press("#stream-pattern", "Enter")
    # The server subscribes at its next push; what is published before that is not part of the stream.
    expect(page.locator("body")).to_have_attribute("data-streaming", "counter.forward")
    _jido(live, "send", "counter.add")
    _jido(live, "send", "counter.forward")
    expect(page.locator("#stream li")).to_have_count(1)
    expect(page.locator("#stream")).to_contain_text("counter.forward")
    page.screenshot(path=str(shots / "stream.png"))

    # The forwarded signal's trace: caused by the counter.forward signal.
    page.click("#stream li a")
    expect(page.locator("#trace-effects")).to_contain_text("counter.add")
    page.screenshot(path=str(shots / "trace.png"))
    assert re.search(r"#/trace/", page.url)

    page.click("#nav a[href='#/']")
    expect(page.locator("#charts")).to_contain_text("handled/s")
    page.screenshot(path=str(shots / "overview.png"))
    viewer.close()
    page.close()


async def _failing(rt: Runtime) -> None:
    ref = await rt.start_agent(Counter, id="fragile")
    await ref.call(jido.Signal(type="counter.add", source="/t", data={"by": 1}))
    with contextlib.suppress(jido.ActionError):
        await ref.call(jido.Signal(type="counter.picky", source="/t"))  # odd: crashes, past a budget of 0


def test_restart_failed_agent(browser: Any) -> None:
    """A failed agent is listed as failed; an admin restarts it from its page and it runs again."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    chromium_path()
    with live_runtime(_failing, max_restarts=0) as live:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(live.server.url + "#/agents")
        page.select_option("#agents-status", "failed")
        expect(page.locator("#agents-range")).to_have_text("1-1 of 1")
        page.click("#agents-table a")
        expect(page.locator("#agent-status")).to_contain_text("failed")
        page.click("#restart-agent")
        expect(page.locator("#toast")).to_contain_text("restarted")
        expect(page.locator("#agent-status")).to_have_text("running")
        expect(page.locator("#agent-state")).to_contain_text('"count": 1')
        page.close()
