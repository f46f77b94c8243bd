"""The browser steps the load run times, found by their visible labels (so they follow the Patient page as it
changes): sign in, upload the two files (to the validation report), Analyse (to every chart drawn), reload (to a
usable page); and the warm single-user measurement (issue targets (a) and (b), :func:`single_user`)."""
from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load.cpu import cpu_seconds, machine_busy_seconds
from bench.load.patients import Patient
from bench.serve import VIEWPORT

REPORT_TIMEOUT_S = 120  # an upload that has not reached the validation report by then was dropped
# every chart on screen drawn, and the app's script run over (no running indicator, no skeleton)
ALL_CHARTS_JS = """() => {
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(c => c.offsetParent);
    return charts.length > 0 && charts.every(c => c.querySelector('.main-svg'))
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0;
}"""
IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                   && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0"""


class DroppedUpload(AssertionError):
    """The files were chosen but the page never showed their validation report."""


async def sign_in(page, url: str, p: Patient) -> float:
    """Open the app, sign in; seconds from pressing Sign in to the Patient page."""
    await page.goto(url)
    await page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
    await page.get_by_label("User name", exact=True).fill(p.username)
    await page.get_by_label("Password", exact=True).fill(p.password)
    t = time.monotonic()
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Patient", exact=True).wait_for()
    return time.monotonic() - t


async def _uploader(page, label: str):
    box = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    if not await box.count():  # the page opens on its first step: ask for the upload form
        own = page.get_by_role("button", name=re.compile("upload your own", re.I))
        if await own.count() and await own.first.is_enabled():
            await own.first.click()
        await box.first.wait_for()
    return box.first


async def upload(page, p: Patient) -> float:
    """Choose the expression profile and the clinical record, check them (the "Check files" button when the page
    has one), up to the validation report and the clinical form filled from the record; seconds from choosing
    the first file. :class:`DroppedUpload` when the report never comes."""
    from playwright.async_api import expect  # lazy: optional dependency (browser runs only)

    expression = await _uploader(page, "Expression profile")
    # the page's run over before choosing: a form still being drawn (after a reload) may not show its button yet
    await page.wait_for_function(IDLE_JS)
    check = page.get_by_role("button", name=re.compile(r"^\W*check files", re.I))
    in_form = await expression.locator('xpath=ancestor::*[@data-testid="stForm"]').count() > 0
    t = time.monotonic()
    await expression.locator('input[type="file"]').set_input_files(str(p.expression))
    if not in_form:  # uploaders outside a form: each file reruns the page; the next waits for that run
        await page.get_by_text("Validation passed").wait_for()
        await page.wait_for_function(IDLE_JS)
    record = await _uploader(page, "Clinical record")
    await record.locator('input[type="file"]').set_input_files(str(p.record))
    if in_form:
        for box in (expression, record):  # both files chosen (a file chip each) before the check
            await box.locator('[data-testid="stFileChip"]').first.wait_for(timeout=REPORT_TIMEOUT_S * 1000)
        await check.first.click()
    report = page.get_by_text("Validation passed").or_(page.get_by_text("Validation failed"))
    try:
        await report.first.wait_for(timeout=REPORT_TIMEOUT_S * 1000)
        er = page.locator('[data-testid="stSelectbox"]').filter(has_text="ER status").locator("input")
        await expect(er).to_have_value(str(p.clinical["er_status"]), timeout=REPORT_TIMEOUT_S * 1000)
    except Exception as exc:  # noqa: BLE001
        raise DroppedUpload(f"no validation report for this patient's files within {REPORT_TIMEOUT_S} s") from exc
    if await page.get_by_text("Validation failed").count():
        raise AssertionError("validation failed")
    await page.wait_for_function(IDLE_JS)
    await page.get_by_role("button", name="Analyse").wait_for()
    return time.monotonic() - t


async def analyse(page, timeout_s: float) -> float:
    """Press Analyse; seconds until the options and every chart on screen are drawn (AssertionError when the app
    says the analysis failed)."""
    t = time.monotonic()
    await page.get_by_role("button", name="Analyse").click()
    ready = page.get_by_role("heading", name="Treatment options")
    failed = page.get_by_text("The analysis could not be completed").or_(page.locator('[data-testid="stException"]'))
    await ready.or_(failed).first.wait_for(timeout=timeout_s * 1000)  # fail fast on an error
    if await failed.count():
        alert = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile("analysis|failed|error", re.I))
        shown = (await alert.all_inner_texts())[:1]
        raise AssertionError(f"the app says: {shown[0][:200] if shown else 'analysis failed'}")
    await page.wait_for_function(ALL_CHARTS_JS, timeout=timeout_s * 1000)
    return time.monotonic() - t


async def reload_usable(page) -> float:
    """Reload the page; seconds until it is usable again: still signed in, on the Patient page, its run over."""
    t = time.monotonic()
    await page.reload()
    await page.get_by_role("heading", name="Patient", exact=True).wait_for()
    await page.wait_for_function(IDLE_JS)
    elapsed = time.monotonic() - t
    if await page.get_by_role("heading", name="Sign in to OncoTx").count():
        raise AssertionError("the reload signed the user out")
    return elapsed


@dataclass
class SingleUser:
    """Targets (a) and (b): a warm server, one user alone."""

    analyse_s: list[float] = field(default_factory=list)  # Analyse -> all charts, one per patient
    reload_s: list[float] = field(default_factory=list)
    discarded_s: float | None = None  # the first Analyse of the session (its page code warms the browser)
    # CPU seconds one upload -> all charts flow costs: the whole machine (browser + server + the rest) and the server
    flow_cpu_s: list[float] = field(default_factory=list)
    flow_server_cpu_s: list[float] = field(default_factory=list)
    error: str = ""


async def single_user(browser, url: str, user: Patient, patients: list[Patient], *, reloads: int,
                      timeout_s: float, server: int | None = None, fail_shots: Path | None = None) -> SingleUser:
    """One signed-in user analyses each patient in turn (a different patient each time: no result is cached),
    then reloads the page ``reloads`` times; the first analysis is not counted. Each counted upload -> all charts
    flow's CPU time is measured too (the machine's busy time, and the ``server`` process's): what N users at once
    need at least. On an error the step and patient are named, and a screenshot goes to ``fail_shots``."""
    out = SingleUser()
    step = "sign in"
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    try:
        await sign_in(page, url, user)
        for k, p in enumerate(patients):
            if k:
                step = f"reload before patient {k + 1}"
                await reload_usable(page)  # a fresh page for each patient, as a clinician starting over would
            busy0, server0 = machine_busy_seconds(), cpu_seconds(server)
            step = f"upload of patient {k + 1}"
            await upload(page, p)
            step = f"Analyse of patient {k + 1}"
            seconds = await analyse(page, timeout_s)
            busy1, server1 = machine_busy_seconds(), cpu_seconds(server)
            if k == 0:
                out.discarded_s = seconds
                continue
            out.analyse_s.append(seconds)
            if busy0 is not None and busy1 is not None:
                out.flow_cpu_s.append(busy1 - busy0)
            if server0 is not None and server1 is not None:
                out.flow_server_cpu_s.append(server1 - server0)
        for r in range(reloads):
            step = f"reload {r + 1}"
            out.reload_s.append(await reload_usable(page))
    except Exception as exc:  # noqa: BLE001 (reported)
        text = str(exc).strip().splitlines()
        out.error = f"{step}: {type(exc).__name__}: {text[0][:200] if text else ''}"
        if fail_shots is not None:
            with contextlib.suppress(Exception):  # the error is what matters; a page too broken to shoot is too
                fail_shots.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(fail_shots / "load_fail_single_user.png"), full_page=True)
    finally:
        await context.close()
    return out
