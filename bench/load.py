"""Load test: N parallel users of the real Streamlit app, upload to dashboard, in one headless chromium.

    python -m bench.load --sessions 8 [--cold] [--keep-artifacts DIR] [--deadline 1500]

One ``streamlit run app.py`` (tests.test_browser.streamlit_app) on a free loopback port, in local sign-in mode
(``ONCOTX_AUTH=local``) on the synthetic demo cohort, with its own ONCOTX_HOME, SQLite database and pseudonym
key, and the background warm-up off (``ONCOTX_WARMUP=0``) so that the first analysis's cost is measured, not
hidden. N clinician accounts and N different demo patients (cohort rows; record ``patient_id`` ``load-<i>``).

Unless ``--cold``, one extra user first runs the whole flow alone (its times are reported as "cold": the first
analysis trains the demo treatment model and builds the cohort map). Then N browser contexts run at once
(playwright's async API, one chromium): sign in → upload expression, then record → "Validation passed" →
Analyse → dashboard → the heading shows *this* patient's pseudonym and no other session's → Save to history →
History lists exactly one saved analysis, with that pseudonym. ``--cold`` skips the warm-up user, so the N
sessions all hit the cold server together (the shared model is then trained once while they wait).

Then the database is checked: one saved analysis per user with the right pseudonym and input hash, payloads load
(hash verified), the audit trail has sign_in, upload, analysis and save (outcome ok) per user and an intact hash
chain, and no audit cell holds a record's patient id, a file name or a clinical value.

Prints a table (sessions, successes, errors, p50/p95/max per phase, wall time, CPU used by the server and by the
whole machine) and the result dict; the exit code is non-zero when anything failed. Screenshots of one dashboard and
one History page go to test-artifacts/load_*.png (from the warm-up session, so as not to slow the parallel ones).
Loopback only: the browser's requests to any other host are aborted (and counted as errors). Bounded: every wait
has a timeout, each session a deadline (``--deadline``), and SIGTERM stops the server and cleans up.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
PHASES = ("sign_in", "upload", "analyse", "save", "history", "total")
CLINICAL = ("age_at_diagnosis", "tumor_size_mm", "grade", "lymph_nodes_positive", "er_status", "pr_status",
            "her2_status", "menopausal_state")
TREATMENTS = ("chemotherapy", "hormone_therapy", "radio_therapy")
VIEWPORT = {"width": 1400, "height": 1000}
PAGE_TIMEOUT_S = 300  # any single wait: 8+ sessions share 2 cores
ANALYSIS_TIMEOUT_S = 900  # the first analysis of a cold server trains the model (minutes when cores are shared)
CHIP_TIMEOUT_S = 60  # a chosen file shows as a chip at once, even before its upload ends
RECORD_REF = re.compile(r"\bload-(\d+|warmup)\b")
SETTLED_JS = """() => document.querySelectorAll('[data-testid="stSkeleton"]').length === 0
                      && !document.querySelector('[data-testid="stStatusWidget"]')"""
HEIGHT_JS = """() => Math.max(
    ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
        .map(e => e.scrollHeight),
    document.body.scrollHeight)"""


@dataclass
class Patient:
    """One user and their patient: account, the two files and what the app must show for them."""

    index: str  # "0".."N-1", or "warmup"
    username: str
    password: str
    record_ref: str  # the record's patient_id ("load-<i>"): must never appear on a page or in the audit
    row: int  # demo cohort row
    expression: Path
    record: Path
    expression_sha256: str
    clinical: dict
    expected: str = ""  # pseudonym the app must show ("PT-...")


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


# ----------------------------------------------------------------------------------------------- set-up


@contextlib.contextmanager
def _environ(values: dict[str, str | None]):
    """Set (None: unset) environment variables for the block, then put them back."""
    before = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def make_patients(folder: Path, n: int, *, warmup: bool, key: str) -> list[Patient]:
    """N (+1 warm-up) different demo patients as a clinic sends them (expression TSV, genes as rows; JSON record),
    each with a clinician account. The warm-up patient, if any, comes first."""
    from dashboard.privacy import patient_pseudonym
    from dashboard.users import create_user
    from genomics.cohorts import load_cohort

    cohort = load_cohort("demo")
    labels = (["warmup"] if warmup else []) + [str(i) for i in range(n)]
    step = max(cohort.n_obs // (len(labels) + 1), 1)
    folder.mkdir(parents=True, exist_ok=True)
    patients = []
    for k, label in enumerate(labels):
        row_index = (7 + k * step) % cohort.n_obs
        row = cohort[row_index]
        # distinctive file names, so that the audit check can look for them
        expression = folder / f"expr_{label}_{secrets.token_hex(3)}.tsv"
        row.to_df().T.rename_axis("gene").to_csv(expression, sep="\t", header=["value"])
        obs = row.obs.iloc[0]
        clinical = {c: _plain(obs[c]) for c in CLINICAL}
        treatments = {t: int(obs[t]) for t in TREATMENTS}
        record_ref = f"load-{label}"
        record = folder / f"record_{label}_{secrets.token_hex(3)}.json"
        record.write_text(json.dumps({"patient_id": record_ref, "clinical": clinical, "treatments": treatments}))
        data = expression.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        username, password = f"clin-{label}", f"load test {secrets.token_urlsafe(12)}"
        create_user(username, password, role="clinician", display_name=f"Load {label}")
        expected = patient_pseudonym(sample_id="value", record_ref=record_ref, input_sha256=sha, key=key.encode())
        patients.append(Patient(label, username, password, record_ref, row_index, expression, record, sha, clinical,
                                expected))
    return patients


# ----------------------------------------------------------------------------------------------- one session


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


async def _choose(box, path: Path) -> None:
    """Choose a file in one st.file_uploader; AssertionError when the browser drops the choice (no file chip)."""
    await box.locator('input[type="file"]').set_input_files(str(path))
    try:
        await box.locator('[data-testid="stFileChip"]').wait_for(timeout=CHIP_TIMEOUT_S * 1000)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"the file chosen was dropped by the page (no upload within {CHIP_TIMEOUT_S} s)") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


async def run_session(browser, url: str, p: Patient, everyone: list[Patient], *, shots: Path | None,
                      fail_shots: Path | None) -> SessionResult:
    """The whole flow for one user, in its own browser context; never raises (the result says what failed)."""
    from playwright.async_api import expect

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
        await page.goto(url)
        await page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
        await page.get_by_label("User name", exact=True).fill(p.username)
        await page.get_by_label("Password", exact=True).fill(p.password)
        t = time.monotonic()
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="Patient", exact=True).wait_for()
        res.times["sign_in"] = time.monotonic() - t

        res.phase = "upload"
        t = time.monotonic()
        # expression first, then the record, each once the server has dealt with the one before. A file chosen
        # while the rerun that the other uploader triggered is starting is silently dropped under load (Streamlit
        # 1.67: the server clears its outgoing queue when a script run starts, file_urls_response included, so
        # the browser never gets an upload URL: no upload, no chip, no error); a person picking files one after
        # the other at human speed rarely hits it, so the harness waits and the report says it exists
        uploaders = page.locator('[data-testid="stFileUploader"]')
        await _choose(uploaders.filter(has_text="Expression profile"), p.expression)
        await page.get_by_text("Validation passed").wait_for()
        await _settled(page)
        await _choose(uploaders.filter(has_text="Clinical record"), p.record)
        er = page.locator('[data-testid="stSelectbox"]').filter(has_text="ER status").locator("input")
        await expect(er).to_have_value(str(p.clinical["er_status"]))  # the form is now filled from this record
        await _settled(page)
        await page.get_by_role("button", name="Analyse").wait_for()
        res.times["upload"] = time.monotonic() - t
        if await page.get_by_text("Validation failed").count():
            raise AssertionError("validation failed")

        res.phase = "analyse"
        t = time.monotonic()
        await page.get_by_role("button", name="Analyse").click()
        ready = page.get_by_role("heading", name="Treatment options")
        failed = page.get_by_text("The analysis could not be completed").or_(
            page.locator('[data-testid="stException"]'))
        await ready.or_(failed).first.wait_for(timeout=ANALYSIS_TIMEOUT_S * 1000)  # fail fast on an error
        if await failed.count():
            alert = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile("analysis|failed|error", re.I))
            shown = (await alert.all_inner_texts())[:1]
            raise AssertionError(f"the app says: {shown[0][:200] if shown else 'analysis failed'}")
        await page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
        await _settled(page)
        res.times["analyse"] = time.monotonic() - t
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
        found = re.search(r"[0-9a-f]{32}", await saved.inner_text())
        res.saved_id = found.group(0) if found else ""
        if not res.saved_id:
            raise AssertionError("no saved analysis id shown")

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


def _server_pid(url: str) -> int | None:
    """The pid of the ``streamlit run`` serving ``url`` (Linux /proc; None elsewhere)."""
    wanted = f"--server.port\0{urlparse(url).port}\0".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes()
            if b"streamlit" in cmdline and wanted in cmdline:
                return int(proc.name)
    return None


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process so far."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (/proc/stat), for the machine's share during the run."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def run_all(url: str, warmup: Patient | None, patients: list[Patient], *, shots: Path | None,
                  fail_shots: Path | None, deadline_s: float
                  ) -> tuple[SessionResult | None, list[SessionResult], float, dict[str, float | None]]:
    from playwright.async_api import async_playwright

    from tests.test_browser import CHROMIUM_ARGS

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
            pid = _server_pid(url)
            cpu0, busy0, t = _cpu_seconds(pid), _machine_busy_seconds(), time.monotonic()
            if cold is not None and not cold.ok:  # the app is broken or the machine too slow: do not pile on
                results = [SessionResult(p.username, phase="not run", error="not run: the warm-up session failed")
                           for p in patients]
            else:
                results = await asyncio.gather(*[
                    _bounded(run_session(browser, url, p, everyone, shots=shots if i == 0 and cold is None else None,
                                         fail_shots=fail_shots), p, deadline_s)
                    for i, p in enumerate(patients)])
            wall = time.monotonic() - t
            cpu1, busy1 = _cpu_seconds(pid), _machine_busy_seconds()
        finally:
            await browser.close()
    cpu = {"server": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
           "machine": None if busy0 is None or busy1 is None else busy1 - busy0}
    return cold, list(results), wall, cpu


# ----------------------------------------------------------------------------------------------- checks


def check_database(patients: list[Patient], results: list[SessionResult], *, everyone: list[Patient]) -> list[str]:
    """What the database must hold after the run; returns the problems found (empty when all is well)."""
    from dashboard import audit, store

    problems: list[str] = []
    saved = store.list_analyses(user=None, limit=10_000)
    if len(saved) != len(everyone):
        problems.append(f"{len(saved)} saved analyses in the database, expected {len(everyone)}")
    by_user = {p.username: r for p, r in zip(patients, results, strict=True)}
    for p in everyone:
        mine = saved[saved["user"] == p.username]
        if len(mine) != 1:
            problems.append(f"{p.username}: {len(mine)} saved analyses, expected 1")
            continue
        row = mine.iloc[0]
        if row["patient_id"] != p.expected:
            problems.append(f"{p.username}: saved patient {row['patient_id']}, expected {p.expected}")
        shown = by_user.get(p.username)
        if shown is not None and shown.saved_id and shown.saved_id != row["id"]:
            problems.append(f"{p.username}: the page said saved as {shown.saved_id}, the database has {row['id']}")
        try:
            analysis = store.load_analysis(str(row["id"]), user=p.username)  # checks the payload hash
        except store.StoreError as exc:
            problems.append(f"{p.username}: saved analysis does not load: {exc}")
            continue
        if (analysis.user, analysis.patient_id) != (p.username, p.expected):
            problems.append(f"{p.username}: payload is {analysis.user}/{analysis.patient_id}")
        if (analysis.inputs_sha256 or {}).get("expression") != p.expression_sha256:
            problems.append(f"{p.username}: payload's expression SHA-256 is not this user's file")
        for other in everyone:
            if other is not p:
                with contextlib.suppress(store.StoreError):
                    store.load_analysis(str(row["id"]), user=other.username)
                    problems.append(f"{other.username} can open {p.username}'s analysis")
                break  # one other user is enough to show the owner check

    events = audit.events(limit=100_000)
    intact, summary = audit.verify_chain()
    if not intact:
        problems.append(f"audit chain: {summary}")
    for p in everyone:
        mine = events[events["user"] == p.username]
        bad = mine[mine["outcome"] != "ok"]
        if len(bad):
            problems.append(f"{p.username}: audit events not ok: {sorted(set(bad['action'] + '/' + bad['outcome']))}")
        for action in ("sign_in", "upload", "analysis", "save"):
            rows = mine[(mine["action"] == action) & (mine["outcome"] == "ok")]
            # one of each; an upload may be audited twice when the browser sends the two files in two reruns
            if not (len(rows) == 1 or (action == "upload" and len(rows) == 2)):
                problems.append(f"{p.username}: {len(rows)} '{action}' audit events, expected 1")
            if action != "sign_in" and set(rows["input_sha256"]) - {p.expression_sha256}:
                problems.append(f"{p.username}: '{action}' audit has another input's SHA-256")
        analysis_rows = mine[mine["action"] == "analysis"]
        if len(analysis_rows) and set(analysis_rows["subject"]) != {p.expected}:
            problems.append(f"{p.username}: analysis audited for {sorted(set(analysis_rows['subject']))}")
        save_rows = mine[mine["action"] == "save"]
        ids = set(saved.loc[saved["user"] == p.username, "id"])
        if len(save_rows) and set(save_rows["subject"]) != ids:
            problems.append(f"{p.username}: save audited for {sorted(set(save_rows['subject']))}, saved {ids}")

    # no record id, file name or clinical value in any audit cell (the time column aside)
    forbidden = {"load-"} | {q.expression.name for q in everyone} | {q.record.name for q in everyone}
    words = {str(v) for q in everyone for v in q.clinical.values() if isinstance(v, str)}
    word_re = re.compile(r"\b(" + "|".join(map(re.escape, sorted(words))) + r")\b") if words else None
    cells = events.drop(columns=["time"]).astype(str)
    leaks = set()
    for column in cells.columns:
        for value in cells[column].unique():
            leaks |= {f"{column}: {s}" for s in forbidden if s in value}
            if word_re is not None and (m := word_re.search(value)):
                leaks.add(f"{column}: clinical value {m.group(0)!r}")
    problems += [f"audit holds {leak}" for leak in sorted(leaks)]
    return problems


# ----------------------------------------------------------------------------------------------- report


def _stats(values: list[float]) -> dict[str, float | None]:
    import numpy as np

    if not values:
        return {"p50": None, "p95": None, "max": None}
    a = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(a, 50)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2)}


def summarise(n: int, cold: SessionResult | None, results: list[SessionResult], wall: float,
              db_problems: list[str], *, cold_mode: bool) -> dict:
    ok = [r for r in results if r.ok]
    errors = [f"{r.user}: {r.error}" for r in results if not r.ok]
    if cold is not None and not cold.ok:
        errors.insert(0, f"{cold.user} (warm-up): {cold.error}")
    latency = {ph: _stats([r.times[ph] for r in ok if ph in r.times]) for ph in PHASES}
    result = {
        "sessions": n,
        "successes": len(ok),
        "errors": errors,
        "cross_talk": [f"{r.user}: {c}" for r in results for c in r.cross_talk],
        "blocked_requests": sorted({h for r in results for h in r.blocked}),
        "http_errors": [f"{r.user}: {e}" for r in results for e in r.http_errors],
        "reconnects": sum(max(len(r.websockets) - 1, 0) for r in results),
        "console_errors": sorted({e for r in results for e in r.console_errors}),  # reported, not failed on
        "latency_s": latency,
        "wall_s": round(wall, 2),
        "mode": "cold (no warm-up session)" if cold_mode else "warm (after one warm-up session)",
        "cold_s": {k: round(v, 2) for k, v in cold.times.items()} if cold is not None else None,
        "db_problems": db_problems,
        "db_ok": not db_problems,
    }
    result["ok"] = (len(ok) == n and not errors and not result["cross_talk"] and not db_problems
                    and (cold is None or cold.ok))
    return result


def print_report(result: dict) -> None:
    lines = [f"sessions {result['sessions']}  successes {result['successes']}  errors {len(result['errors'])}  "
             f"wall {result['wall_s']:.1f} s  ({result['mode']})"]
    if result["cold_s"]:
        lines.append("cold first session: " + "  ".join(f"{k} {v:.1f} s" for k, v in result["cold_s"].items()))
    if result.get("server_cpu_s") is not None and result.get("machine_cpu_s") is not None:
        lines.append(f"CPU during the parallel sessions: server {result['server_cores_busy']:.2f} cores, whole "
                     f"machine {result['machine_cores_busy']:.2f} of {result['cpu_count']} cores (browser, server, "
                     f"anything else); load average before {result['load_average_before']:.1f}")
    lines.append(f"{'phase':<10}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for phase, s in result["latency_s"].items():
        cells = "".join(f"{'-' if s[k] is None else f'{s[k]:.2f}':>9}" for k in ("p50", "p95", "max"))
        lines.append(f"{phase:<10}{cells}")
    for e in result["errors"]:
        lines.append(f"ERROR {e}")
    for p in result["db_problems"]:
        lines.append(f"DB    {p}")
    lines.append("database checks: " + ("ok" if result["db_ok"] else f"{len(result['db_problems'])} problems"))
    lines.append("RESULT " + ("ok" if result["ok"] else "FAILED"))
    print("\n".join(lines), flush=True)


# ----------------------------------------------------------------------------------------------- main


def _forget_engine(url: str) -> None:
    """Dispose of this process's engine for the run's database (its file is about to be removed)."""
    from dashboard import db

    with contextlib.suppress(Exception):
        db._ENGINES.pop(url).dispose()


def run_load(sessions: int = 8, *, cold: bool = False, keep_artifacts: Path | None = None,
             shots: Path | None = ARTIFACTS, deadline_s: float = 1500.0) -> dict:
    """Start the server, run the load and the checks; return the result dict (``result["ok"]``)."""
    from tests.test_browser import streamlit_app

    if sessions < 1:
        raise ValueError("--sessions must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="oncotx-load-"))
    key = secrets.token_hex(16)
    database = f"sqlite:///{tmp / 'oncotx.sqlite'}"
    server_env = {"ONCOTX_AUTH": "local", "ONCOTX_PSEUDONYM_KEY": key, "ONCOTX_DATABASE_URL": database,
                  "ONCOTX_WARMUP": "0", "ONCOTX_SESSION_MINUTES": "60"}
    mine = {"ONCOTX_DATA": None, "ONCOTX_HOME": str(tmp / "home"), "ONCOTX_CONFIG": str(tmp / "no-such.toml"),
            "ONCOTX_DATABASE_URL": database, "ONCOTX_PSEUDONYM_KEY": key}
    fail_shots = keep_artifacts or shots
    try:
        with _environ(mine):
            everyone = make_patients(tmp / "patients", sessions, warmup=not cold, key=key)
            warmup = None if cold else everyone[0]
            patients = everyone if cold else everyone[1:]
            with streamlit_app(tmp, data=None, env=server_env) as (url, log):
                load_before = os.getloadavg()[0]
                run = run_all(url, warmup, patients, shots=shots, fail_shots=fail_shots, deadline_s=deadline_s)
                first, results, wall, cpu = asyncio.run(run)
            db_problems = check_database(patients, results, everyone=everyone)
            _forget_engine(database)
        result = summarise(sessions, first, results, wall, db_problems, cold_mode=cold)
        # where the time went: one Streamlit process serves every session (near 1 core used: bound by its
        # interpreter lock); the machine's busy cores include the browser and whatever else runs on it
        for name, used in cpu.items():
            result[f"{name}_cpu_s"] = None if used is None else round(used, 1)
            result[f"{name}_cores_busy"] = None if used is None else round(used / max(wall, 1e-9), 2)
        result["load_average_before"] = round(load_before, 2)
        result["cpu_count"] = os.cpu_count()
        server_log = log.read_text(errors="replace")
        result["server_log_tracebacks"] = server_log.count("Traceback")
        if result["server_log_tracebacks"]:
            result["ok"] = False
            result["errors"].append(f"server log has {result['server_log_tracebacks']} tracebacks")
        result["sessions_detail"] = [{"user": r.user, "ok": r.ok, "error": r.error, "pseudonym": r.shown_pseudonym,
                                      "saved_id": r.saved_id, "history": r.history,
                                      "times": {k: round(v, 2) for k, v in r.times.items()}}
                                     for r in results]
        return result
    finally:
        if keep_artifacts is not None:
            keep_artifacts.mkdir(parents=True, exist_ok=True)
            shutil.copytree(tmp, keep_artifacts / tmp.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("models", "cache"))
        shutil.rmtree(tmp, ignore_errors=True)


def _terminated(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="parallel user sessions (default 8)")
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up session: the N sessions meet a cold server (first analysis trains the model)")
    parser.add_argument("--keep-artifacts", type=Path, default=None,
                        help="copy the run's folder (server log, database, patient files) here")
    parser.add_argument("--deadline", type=float, default=1500.0,
                        help="seconds allowed for each session (default 1500)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    signal.signal(signal.SIGTERM, _terminated)  # so that `timeout` still stops the server and cleans up
    result = run_load(args.sessions, cold=args.cold, keep_artifacts=args.keep_artifacts, deadline_s=args.deadline)
    print_report(result)
    print(json.dumps(result, indent=1, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
