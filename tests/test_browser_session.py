"""A reload keeps a local user signed in (the signed, expiring session cookie of dashboard.ui.auth), and a sign-out
ends it: a real chromium on a local-sign-in server."""
from __future__ import annotations

import pytest

from bench.serve import streamlit_app
from tests.test_browser import _settled, _shot
from tests.test_browser import browser as browser  # noqa: F401 (fixture)
from tests.test_browser import page as page  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "reload keeps me signed in"
KEY = "a-test-pseudonym-key-of-32-chars!"


def _signed_in_on_patient(page) -> None:
    page.get_by_role("heading", name="Patient", exact=True).wait_for()
    page.get_by_text("Signed in as dr.carol").wait_for()


def test_reload_keeps_the_session_and_sign_out_ends_it(page, tmp_path, monkeypatch):  # noqa: F811
    from dashboard.platform import audit, users

    url_db = f"sqlite:///{tmp_path / 'session.sqlite'}"
    monkeypatch.setenv("ONCOTX_DATABASE_URL", url_db)
    users.create_user("dr.carol", PASSWORD, role="clinician")
    env = {"ONCOTX_AUTH": "local", "ONCOTX_DATABASE_URL": url_db, "ONCOTX_PSEUDONYM_KEY": KEY}
    with streamlit_app(tmp_path / "server", data=None, env=env) as (url, log):
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
        page.get_by_label("User name", exact=True).fill("dr.carol")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        _signed_in_on_patient(page)
        page.wait_for_function("() => document.cookie.includes('oncotx_session=')")  # set by the page's script
        cookie = next(c for c in page.context.cookies() if c["name"] == "oncotx_session")
        assert cookie["sameSite"] == "Strict" and cookie["expires"] > 0  # expires (idle limit), not per browser run

        page.reload()
        _signed_in_on_patient(page)  # no password asked
        assert page.get_by_role("heading", name="Sign in to OncoTx").count() == 0
        _settled(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        _shot(page, "session_after_reload.png")

        page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
        page.wait_for_function("() => !document.cookie.includes('oncotx_session=')")  # the page cleared it
        page.reload()
        page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
        _settled(page)
        assert page.get_by_text("Signed in as dr.carol").count() == 0
        _shot(page, "session_after_sign_out.png")

        # a copy of the old cookie (kept by someone) no longer signs anyone in: the sign-out is audited
        page.context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "sameSite")}])
        page.reload()
        page.get_by_role("heading", name="Sign in to OncoTx").wait_for()
        _settled(page)
        assert page.get_by_text("Signed in as dr.carol").count() == 0
        server_log = log.read_text()
    actions = list(audit.events(url=url_db)["action"])[::-1]
    assert actions[:3] == ["sign_in", "session_restored", "sign_out"], actions
    assert actions.count("session_restored") == 1 and "Traceback" not in server_log
