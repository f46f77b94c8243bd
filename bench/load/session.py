"""The browser side of a load run: one user's whole flow in its own browser context, and all sessions at once
in one headless chromium (playwright's async API)."""
from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bench.load import steps
from bench.load.cpu import cpu_seconds, machine_busy_seconds, server_pid
from bench.load.patients import Patient
from bench.serve import CHROMIUM_ARGS, VIEWPORT

PHASES = ("sign_in", "upload", "analyse", "upload_to_charts", "save", "history", "total")
PAGE_TIMEOUT_S = 300  # any single wait: 8+ sessions share 2 cores
ANALYSIS_TIMEOUT_S = 900  # the first analysis of a cold server trains the model (minutes when cores are shared)
RECORD_REF = re.compile(r"\bload-([a-z]*\d+|warmup)\b")
SETTLED_JS = """() => document.querySelectorAll('[data-testid="stSkeleton"]').length === 0
                      && !document.querySelector('[data-testid="stStatusWidget"]')"""
HEIGHT_JS = """() => Math.max(
    ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
        .map(e => e.scrollHeight),
    document.body.scrollHeight)"""


@dataclass
class SessionResult:
    user: str
    ok: bool = False
    phase: str = ""  # the phase running when it failed
    error: str = ""
    times: dict[str, float] = field(default_factory=dict)
    shown_pseudonym: str = ""
    saved_id: str = ""
    history: list[str] = field(default_factory=list)
    cross_talk: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    websockets: list[float] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dropped: bool = False  # the files were chosen, the validation report never came


async def _settled(page) -> None:
    await page.wait_for_function(SETTLED_JS)
    await page.wait_for_timeout(400)


async def _shot(page, path: Path) -> None:
    """Full-page screenshot (Streamlit scrolls inside its own container: make the window as tall as the page)."""
    await _settled(page)
    height = await page.evaluate(HEIGHT_JS)
    await page.set_viewport_size({"width": VIEWPORT["width"],
                                  "height": min(max(height + 40, VIEWPORT["height"]), 6000)})
    await page.wait_for_timeout(300)
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    await page.set_viewport_size(VIEWPORT)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


async def run_session(browser, url: str, p: Patient, everyone: list[Patient], *, shots: Path | None,
                      fail_shots: Path | None) -> SessionResult:
    """The whole flow for one user, in its own browser context; never raises (the result says what failed)."""
    from playwright.async_api import expect  # lazy: optional dependency (the browser tests and this load test)

    res = SessionResult(user=p.username)
    others = {q.expected for q in everyone if q.expected != p.expected}
    host = urlparse(url).hostname
    context = await browser.new_context(viewport=VIEWPORT)

    async def loopback_only(route):
        if urlparse(route.request.url).hostname in (host, "127.0.0.1", "localhost"):
            await route.continue_()
        else:
            res.blocked.append(urlparse(route.request.url).hostname or route.request.url[:60])
            await route.abort()

    await context.route("**/*", loopback_only)
    page = await context.new_page()
    page.on("websocket", lambda _ws: res.websockets.append(time.monotonic()))  # more than one: a reconnect
    page.on("response", lambda r: r.status >= 400 and res.http_errors.append(f"{r.status} {urlparse(r.url).path}"))

    def request_failed(request) -> None:  # to the app (the other hosts are aborted above); not cancellations
        if urlparse(request.url).hostname == host and request.failure != "net::ERR_ABORTED":
            res.http_errors.append(f"failed {urlparse(request.url).path}: {request.failure}")

    page.on("requestfailed", request_failed)
    page.on("console", lambda m: m.type == "error" and res.console_errors.append(m.text[:200]))
    page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
    expect.set_options(timeout=PAGE_TIMEOUT_S * 1000)

    async def check_no_cross_talk(where: str) -> None:
        html = await page.content()
        seen = sorted(o for o in others if o in html)
        if seen:
            res.cross_talk.append(f"{where}: other sessions' pseudonyms {', '.join(seen)}")
        refs = sorted(set(RECORD_REF.findall(html)))
        if refs:
            res.cross_talk.append(f"{where}: record patient ids shown: {', '.join('load-' + r for r in refs)}")
        if await page.locator('[data-testid="stException"]').count():
            res.cross_talk.append(f"{where}: an exception is shown")

    start, shooting = time.monotonic(), 0.0
    try:
        res.phase = "sign_in"
        res.times["sign_in"] = await steps.sign_in(page, url, p)

        res.phase = "upload"
        try:
            res.times["upload"] = await steps.upload(page, p)
        except steps.DroppedUpload:
            res.dropped = True
            raise

        res.phase = "analyse"
        res.times["analyse"] = await steps.analyse(page, ANALYSIS_TIMEOUT_S)
        res.times["upload_to_charts"] = res.times["upload"] + res.times["analyse"]
        await _settled(page)
        headings = await page.get_by_role("heading", name=re.compile(r"^Patient PT-")).all_inner_texts()
        res.shown_pseudonym = ",".join(h.removeprefix("Patient ").strip() for h in headings)
        if headings != [f"Patient {p.expected}"]:
            res.cross_talk.append(f"dashboard: heading {headings!r}, expected 'Patient {p.expected}'")
        if await page.get_by_text("Analysis ready").count() != 1:
            raise AssertionError("no 'Analysis ready'")
        if await page.get_by_text(re.compile(rf"by {re.escape(p.username)}\b")).count() < 1:
            res.cross_talk.append(f"dashboard: not 'analysed ... by {p.username}'")
        await check_no_cross_talk("dashboard")
        if shots is not None:
            t = time.monotonic()
            await _shot(page, shots / "load_dashboard.png")
            await page.get_by_role("heading", name=f"Patient {p.expected}").evaluate(
                "e => e.scrollIntoView({block: 'start'})")
            await page.wait_for_timeout(300)
            await page.screenshot(path=str(shots / "load_dashboard_top.png"))  # the window: readable
            shooting += time.monotonic() - t

        res.phase = "save"
        t = time.monotonic()
        await page.get_by_role("button", name="Save to history").click()
        saved = page.get_by_text("Saved to history as", exact=False)
        await saved.wait_for()
        res.times["save"] = time.monotonic() - t
        # the saved analysis' id: in the message, or in the link to it in History (the page names it by its label)
        link = page.get_by_role("link", name=re.compile("in History", re.I))
        href = (await link.first.get_attribute("href") or "") if await link.count() else ""
        found = re.search(r"[0-9a-f]{32}", href) or re.search(r"[0-9a-f]{32}", await saved.inner_text())
        res.saved_id = found.group(0) if found else ""  # none shown: the database check still finds it

        res.phase = "history"
        t = time.monotonic()
        await page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="History").click()
        await page.get_by_role("heading", name="History", exact=True).wait_for()
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a saved analysis")
        await box.wait_for()
        await _settled(page)
        await box.click()
        await page.get_by_role("option").first.wait_for()
        res.history = [s.strip() for s in await page.get_by_role("option").all_inner_texts()]
        res.times["history"] = time.monotonic() - t
        if len(res.history) != 1 or p.expected not in res.history[0]:
            res.cross_talk.append(f"history: {len(res.history)} saved analyses listed {res.history!r}, "
                                  f"expected one with {p.expected}")
        await check_no_cross_talk("history")
        if shots is not None:
            t = time.monotonic()
            await _shot(page, shots / "load_history.png")
            shooting += time.monotonic() - t
        await page.keyboard.press("Escape")
        res.times["total"] = time.monotonic() - start - shooting  # screenshots are not the app's time
        res.phase = "done"
        res.ok = not (res.cross_talk or res.blocked or res.http_errors or len(res.websockets) > 1)
        if res.blocked:
            res.error = f"requests to other hosts: {sorted(set(res.blocked))}"
        elif res.cross_talk:
            res.error = "cross-talk: " + "; ".join(res.cross_talk)
        elif res.http_errors:
            res.error = f"HTTP errors: {res.http_errors[:5]}"
        elif len(res.websockets) > 1:
            res.error = f"the page reconnected {len(res.websockets) - 1} times (session state lost)"
    except Exception as exc:  # noqa: BLE001 (reported per session)
        res.error = f"{res.phase}: {_short(exc)}"
        if fail_shots is not None:
            with contextlib.suppress(Exception):
                await page.screenshot(path=str(fail_shots / f"load_fail_{p.index}.png"), full_page=True)
    finally:
        with contextlib.suppress(Exception):
            await context.close()
    return res


async def _bounded(run, p: Patient, deadline_s: float) -> SessionResult:
    """The session's result, or a failed one when it runs past the deadline (its browser context is closed)."""
    try:
        return await asyncio.wait_for(run, deadline_s)
    except TimeoutError:
        return SessionResult(p.username, phase="deadline", error=f"did not finish within {deadline_s:.0f} s")


async def run_all(url: str, warmup: Patient | None, patients: list[Patient], *, shots: Path | None,
                  fail_shots: Path | None, deadline_s: float, single: list[Patient] | None = None, reloads: int = 0
                  ) -> tuple[SessionResult | None, list[SessionResult], float, dict[str, float | None],
                             steps.SingleUser | None]:
    """The warm-up session (if any), then the single user alone (``single``: they sign in as the first and analyse
    each patient in turn, then reload ``reloads`` times), then every session of ``patients`` at once."""
    from playwright.async_api import async_playwright  # lazy: optional dependency (browser runs only)

    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("chromium not found on PATH")
    everyone = ([warmup] if warmup else []) + patients
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            cold = None
            if warmup is not None:
                # the screenshots come from the warm-up session: taking them in the parallel run would slow it
                cold = await _bounded(run_session(browser, url, warmup, everyone, shots=shots, fail_shots=fail_shots),
                                      warmup, deadline_s)
            alone = None
            pid = server_pid(url)
            if single and (cold is None or cold.ok):
                alone = await steps.single_user(browser, url, single[0], single, reloads=reloads,
                                                timeout_s=min(deadline_s, PAGE_TIMEOUT_S), server=pid,
                                                fail_shots=fail_shots)
            cpu0, busy0, t = cpu_seconds(pid), machine_busy_seconds(), time.monotonic()
            if cold is not None and not cold.ok:  # the app is broken or the machine too slow: do not pile on
                results = [SessionResult(p.username, phase="not run", error="not run: the warm-up session failed")
                           for p in patients]
            else:
                results = await asyncio.gather(*[
                    _bounded(run_session(browser, url, p, everyone, shots=shots if i == 0 and cold is None else None,
                                         fail_shots=fail_shots), p, deadline_s)
                    for i, p in enumerate(patients)])
            wall = time.monotonic() - t
            cpu1, busy1 = cpu_seconds(pid), machine_busy_seconds()
        finally:
            await browser.close()
    cpu = {"server": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
           "machine": None if busy0 is None or busy1 is None else busy1 - busy0}
    return cold, list(results), wall, cpu, alone
