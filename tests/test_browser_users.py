"""Two clinicians signed in at once, in two browser contexts of a real chromium, on one local-sign-in server.

Both upload a different patient and press Analyse at the same time; each sees only their own patient (the
keyed-hash pseudonym of their record's id), their own history, and the audit trail holds both users' sign-in,
upload, analysis and save with input hashes and model ids, and no patient values, record ids or file names
(neither does the server log).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from bench.serve import VIEWPORT, streamlit_app
from tests.test_browser import ARTIFACTS, _settled, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
KEY = "a-test-pseudonym-key-of-32-chars!"
PASSWORD = "two clinicians at once"
ANALYSIS_MS = 600_000  # the first analysis of a fresh server trains the demo treatment model
PATIENTS = {"dr.alice": (101, "clinic-ref-alice-17"), "dr.bob": (1202, "clinic-ref-bob-42")}


def _patient_files(tmp_path, index: int, ref: str):
    from genomics.cohorts import load_cohort

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ONCOTX_DATA", raising=False)
        cohort = load_cohort("demo")
    row = cohort[index]
    expression = tmp_path / f"{ref}_expression.tsv"
    row.to_df().T.rename_axis("gene").to_csv(expression, sep="\t", header=["value"])
    obs = row.obs.iloc[0]
    clinical = {k: (v.item() if hasattr(v, "item") else v) for k, v in obs.items()
                if k in ("age_at_diagnosis", "tumor_size_mm", "grade", "lymph_nodes_positive", "er_status",
                         "pr_status", "her2_status", "menopausal_state")}
    record = tmp_path / f"{ref}_record.json"
    record.write_text(json.dumps({"patient_id": ref, "clinical": clinical,
                                  "treatments": {t: int(obs[t]) for t in ("chemotherapy", "hormone_therapy",
                                                                           "radio_therapy")}}))
    return expression, record, clinical


def _sign_in(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
    page.get_by_label("User name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Patient").wait_for()


def _upload(page, expression, record) -> None:
    uploaders = page.locator('[data-testid="stFileUploader"]')
    uploaders.filter(has_text="Expression profile").locator('input[type="file"]').set_input_files(str(expression))
    uploaders.filter(has_text="Clinical record").locator('input[type="file"]').set_input_files(str(record))
    page.get_by_role("button", name="Check files").click()  # the uploaders sit in a form
    page.get_by_text("Validation passed").wait_for()
    _settled(page)
    page.get_by_role("heading", name="Clinical fields").wait_for()


def test_two_clinicians_at_once_see_only_their_own(browser, tmp_path, monkeypatch):  # noqa: F811
    from dashboard.platform import audit, privacy, store, users

    url_db = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    monkeypatch.setenv("ONCOTX_DATABASE_URL", url_db)
    for name in PATIENTS:
        users.create_user(name, PASSWORD, role="clinician")
    env = {"ONCOTX_AUTH": "local", "ONCOTX_DATABASE_URL": url_db, "ONCOTX_PSEUDONYM_KEY": KEY}
    files = {name: _patient_files(tmp_path, i, ref) for name, (i, ref) in PATIENTS.items()}
    expected = {name: privacy.patient_pseudonym(sample_id="value", record_ref=ref, input_sha256="", key=KEY.encode())
                for name, (_, ref) in PATIENTS.items()}
    with streamlit_app(tmp_path / "server", data=None, env=env) as (url, log):
        contexts = {name: browser.new_context(viewport=VIEWPORT) for name in PATIENTS}
        pages = {name: ctx.new_page() for name, ctx in contexts.items()}
        try:
            for name, page in pages.items():
                page.set_default_timeout(120_000)
                _sign_in(page, url, name)
                _upload(page, *files[name][:2])
            for page in pages.values():  # both analyses run on the server at the same time
                page.get_by_role("button", name="Analyse").click()
            for name, page in pages.items():
                try:
                    page.get_by_role("heading", name="Treatment options").wait_for(timeout=ANALYSIS_MS)
                except Exception:
                    _shot(page, f"users_{name}_timeout.png")
                    pytest.fail(f"no dashboard for {name}; server log:\n{log.read_text()[-4000:]}")
                _settled(page)
                assert page.locator('[data-testid="stException"]').count() == 0
                other = next(n for n in PATIENTS if n != name)
                assert page.get_by_role("heading", name=f"Patient {expected[name]}").count() == 1
                assert page.get_by_text(expected[other]).count() == 0  # nothing of the other session
                assert page.get_by_text(PATIENTS[name][1]).count() == 0  # the clinic's id is never shown
                assert page.get_by_text(f"Signed in as {name}").count() == 1
                _shot(page, f"users_{name}_dashboard.png")
            for page in pages.values():
                page.get_by_role("button", name="Save to history").click()
            for name, page in pages.items():
                page.get_by_text("Saved to history as", exact=False).wait_for()
                page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="History").click()
                page.get_by_text("Open a saved analysis").wait_for()
                _settled(page)
                listing = page.locator('[data-testid="stDataFrame"]').first
                listing.wait_for()
                other = next(n for n in PATIENTS if n != name)
                assert page.get_by_text(expected[other]).count() == 0
                page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a saved analysis").click()
                options = page.get_by_role("option")
                assert options.count() == 1 and expected[name] in options.first.inner_text()
                options.first.click()
                page.get_by_role("heading", name=f"Patient {expected[name]}").wait_for()
                _settled(page)
                _shot(page, f"users_{name}_history.png")
            # an administrator sees both users' analyses and the audit trail
            users.create_user("root", PASSWORD, role="admin")
            contexts["root"] = browser.new_context(viewport=VIEWPORT)
            admin = contexts["root"].new_page()
            admin.set_default_timeout(120_000)
            _sign_in(admin, url, "root")
            admin.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="History").click()
            admin.get_by_text("Open a saved analysis").wait_for()
            admin.locator('[data-testid="stSelectbox"]').filter(has_text="Open a saved analysis").click()
            assert admin.get_by_role("option").count() == 2
            admin.keyboard.press("Escape")
            admin.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Audit trail").click()
            admin.get_by_text("hash chain intact").wait_for()
            _settled(admin)
            assert admin.locator('[data-testid="stException"]').count() == 0
            _shot(admin, "users_admin_audit.png")
            admin.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Users").click()
            admin.get_by_role("heading", name="Add a user").wait_for()
            _settled(admin)
            _shot(admin, "users_admin_users.png")
        finally:
            for ctx in contexts.values():
                ctx.close()
        server_log = log.read_text()

    saved = store.list_analyses(url=url_db)
    assert sorted(zip(saved["user"], saved["patient_id"], strict=True)) == sorted(expected.items())
    events = audit.events(url=url_db)
    assert audit.verify_chain(url=url_db)[0]
    assert set(events["user"]) == {*PATIENTS, "root"}
    for name in PATIENTS:
        mine = events[events["user"] == name]
        assert {"sign_in", "upload", "analysis", "save", "open"} <= set(mine["action"]), mine
        analysis = mine[mine["action"] == "analysis"].iloc[0]
        assert analysis["subject"] == expected[name] and analysis["model_id"] and len(analysis["input_sha256"]) == 64
        assert (mine["outcome"] == "ok").all()
    ARTIFACTS.mkdir(exist_ok=True)
    events.to_csv(ARTIFACTS / "users_audit.csv", index=False)
    # no values: nothing from the records or the files' names, in the audit trail or the server log
    cells = " ".join(events.drop(columns="time").astype(str).to_numpy().ravel())
    for name, (_, ref) in PATIENTS.items():
        clinical = files[name][2]
        forbidden = [ref, files[name][0].name, files[name][1].name, clinical["er_status"],
                     f"{clinical['age_at_diagnosis']:.1f}"]
        for text in forbidden:
            assert str(text) not in cells, text
            assert ref not in server_log and files[name][0].name not in server_log
    assert isinstance(events, pd.DataFrame)
