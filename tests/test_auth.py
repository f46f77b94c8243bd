"""Sign-in, roles, the audit trail and pseudonyms (dashboard.platform.users, dashboard.ui.auth, dashboard.platform.audit,
dashboard.platform.privacy), on a real SQLite database; the pages through AppTest in local sign-in mode."""
from __future__ import annotations

import sqlite3
import stat
import time

import pytest
import streamlit as st
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from dashboard.platform import audit, privacy, users
from dashboard.platform.db import get_engine
from tests.conftest import REPO

APP = str(REPO / "app.py")
PASSWORD = "correct horse battery staple"
SHA = "ab" * 32


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'oncotx.sqlite'}"
    monkeypatch.setenv("ONCOTX_DATABASE_URL", url)
    monkeypatch.setenv("ONCOTX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONCOTX_PSEUDONYM_KEY", raising=False)
    return url


# --------------------------------------------------------------------------------------------- accounts


def test_password_is_stored_as_argon2_hash_only(db, tmp_path):
    users.create_user("Dr.Alice", PASSWORD, role="clinician")
    raw = sqlite3.connect(tmp_path / "oncotx.sqlite").execute("SELECT username, password_hash FROM users").fetchall()
    assert raw[0][0] == "dr.alice"  # user names are case-insensitive
    assert raw[0][1].startswith("$argon2id$") and PASSWORD not in raw[0][1]
    assert users.authenticate("DR.ALICE", PASSWORD) == users.User("dr.alice", "clinician", "", "local")


@pytest.mark.parametrize("name, password", [("dr.alice", "wrong password!!"), ("nobody", PASSWORD),
                                            ("<script>", PASSWORD), ("", "")])
def test_every_failed_sign_in_gets_the_same_message(db, name, password):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    with pytest.raises(users.UserError, match="^Wrong user name or password.$"):
        users.authenticate(name, password)


def test_five_failures_lock_the_account(db):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    for _ in range(users.MAX_FAILURES):
        with pytest.raises(users.UserError, match="Wrong"):
            users.authenticate("dr.alice", "not the password")
    with pytest.raises(users.UserError, match="locked"):
        users.authenticate("dr.alice", PASSWORD)  # even the right password, while locked
    assert users.list_users()[0]["locked"]


@pytest.mark.parametrize("password", ["short", "a" * 20, "x" * 300])
def test_weak_passwords_are_refused(db, password):
    with pytest.raises(users.UserError):
        users.create_user("dr.bob", password, role="clinician")


def test_first_admin_only_once_and_roles_checked(db):
    users.create_first_admin("root", PASSWORD)
    with pytest.raises(users.UserError, match="Setup is done"):
        users.create_first_admin("intruder", PASSWORD)
    with pytest.raises(users.UserError, match="role"):
        users.create_user("dr.eve", PASSWORD, role="superuser")
    with pytest.raises(users.UserError, match="taken"):
        users.create_user("ROOT", PASSWORD, role="clinician")
    with pytest.raises(users.UserError, match="your own"):
        users.update_user("root", role="clinician", acting="root")


def test_disabled_account_and_role_change_take_effect(db):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    users.update_user("dr.alice", role="researcher")
    assert users.get_user("dr.alice").role == "researcher"
    users.update_user("dr.alice", disabled=True)
    assert users.get_user("dr.alice") is None
    with pytest.raises(users.UserError, match="disabled"):
        users.authenticate("dr.alice", PASSWORD)


def test_oidc_account_created_with_default_role(db):
    u = users.oidc_user("Jane.Doe@Hospital.org", display_name="Jane", admins=("boss@hospital.org",))
    assert (u.username, u.role, u.source) == ("jane.doe@hospital.org", "clinician", "oidc")
    assert users.oidc_user("boss@hospital.org", admins=("Boss@hospital.org",)).role == "admin"
    with pytest.raises(users.UserError, match="identity provider"):
        users.update_user("jane.doe@hospital.org", password=PASSWORD)


# --------------------------------------------------------------------------------------------- audit


def _event(**kw) -> audit.Event:
    base = {"user": "dr.alice", "role": "clinician", "action": "analysis", "input_sha256": SHA, "cohort_id": "demo",
            "model_id": "demo-effects-OS", "bundle_sha256": SHA}
    return audit.Event(**(base | kw))


def test_audit_is_append_only_in_the_database(db, tmp_path):
    audit.record(_event())
    engine = get_engine(db)
    for statement in ("UPDATE audit SET user = 'mallory'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(audit.events()) == 1
    assert not hasattr(audit, "delete") and not hasattr(audit, "update")


def test_audit_hash_chain_detects_an_edit_behind_the_apps_back(db, tmp_path):
    for action in ("upload", "analysis", "export"):
        audit.record(_event(action=action))
    assert audit.verify_chain() == (True, "3 events; hash chain intact.")
    raw = sqlite3.connect(tmp_path / "oncotx.sqlite")
    raw.execute("DROP TRIGGER audit_no_update")  # someone with file access, bypassing the app
    raw.execute("UPDATE audit SET user = 'mallory' WHERE id = 2")
    raw.commit()
    ok, message = audit.verify_chain()
    assert not ok and "event 2" in message


@pytest.mark.parametrize("field, value", [
    ("detail", "patient born 1961-03-14"), ("detail", "mrn 12345678"), ("detail", "jane@example.org"),
    ("detail", "<b>x</b>"), ("detail", "x" * 200), ("input_sha256", "not a hash"), ("user", "jane doe"),
    ("action", "drop_tables"), ("outcome", "maybe"), ("cohort_id", "<script>"),
])
def test_audit_refuses_values_and_free_text(db, field, value):
    with pytest.raises(audit.AuditError):
        audit.record(_event(**{field: value}))
    assert audit.events().empty


def test_audit_filters_and_csv(db):
    audit.record(_event(action="upload", outcome="refused"))
    audit.record(_event(user="dr.bob", action="analysis"))
    assert list(audit.events(user="dr.bob")["action"]) == ["analysis"]
    assert list(audit.events(outcome="refused")["user"]) == ["dr.alice"]
    csv = audit.to_csv(audit.events()).decode()
    assert csv.splitlines()[0].startswith("id,time,user,role,action,outcome,subject,input_sha256")
    assert len(csv.splitlines()) == 3


# --------------------------------------------------------------------------------------------- pseudonyms


def test_pseudonym_is_keyed_and_stable(db, monkeypatch):
    a = privacy.pseudonym("MRN-0012345", key=b"k" * 32)
    assert a == privacy.pseudonym("MRN-0012345", key=b"k" * 32) and a.startswith("PT-") and len(a) == 13
    assert a != privacy.pseudonym("MRN-0012345", key=b"j" * 32)  # without the key, no guessing
    assert "0012345" not in a
    same_patient = [privacy.patient_pseudonym(sample_id=s, record_ref="MRN-1", input_sha256=h, key=b"k" * 32)
                    for s, h in (("s1", "a" * 64), ("tumour", "b" * 64))]
    assert same_patient[0] == same_patient[1]
    monkeypatch.setenv(privacy.ENV_KEY, "too short")
    with pytest.raises(ValueError, match="at least"):
        privacy.pseudonym("x")


def test_generated_key_is_private_and_reused(db):
    first = privacy.pseudonym("sample-1")
    path = privacy.key_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert privacy.pseudonym("sample-1") == first


# --------------------------------------------------------------------------------------------- pages


@pytest.fixture
def local_app(db, monkeypatch, tmp_path):
    monkeypatch.setenv("ONCOTX_AUTH", "local")
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", str(tmp_path / "no-such-oncotx.toml"))
    st.cache_data.clear()


def _run() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120).run()


def _sign_in(name: str, password: str = PASSWORD) -> AppTest:
    at = _run()
    at.text_input(key="signin_username").input(name)
    at.text_input(key="signin_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def test_first_run_asks_for_an_administrator_then_signs_in(local_app):
    at = _run()
    assert [t.value for t in at.title] == ["Sign in to OncoTx"] and not at.exception
    assert "Research use only" in at.info[-1].value
    at.text_input(key="setup_username").input("root")
    at.text_input(key="setup_password").input(PASSWORD)
    at.text_input(key="setup_again").input(PASSWORD)
    at.button(key="FormSubmitter:first_admin-Create administrator and sign in").click().run()
    assert not at.exception and at.title[0].value == "Patient"
    assert any("Administrator" in c.value for c in at.sidebar.caption)
    assert list(audit.events()["action"]) == ["sign_in", "first_admin"]


def test_wrong_password_is_refused_and_audited(local_app):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    at = _sign_in("dr.alice", "not the password at all")
    assert [e.value for e in at.error] == ["Wrong user name or password\\."]
    assert at.title[0].value == "Sign in to OncoTx"
    row = audit.events().iloc[0]
    assert (row["user"], row["action"], row["outcome"]) == ("dr.alice", "sign_in", "refused")


def test_roles_open_only_their_pages(local_app):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    users.create_user("dr.rex", PASSWORD, role="researcher")
    at = _sign_in("dr.alice")
    assert at.title[0].value == "Patient" and not at.exception
    at.switch_page("pages/clinician/history.py").run()
    assert at.title[0].value == "History"
    researcher = _sign_in("dr.rex")
    assert researcher.title[0].value.startswith("Cohort") and not researcher.exception  # a researcher starts there
    # a page outside the role never runs, even when its script is reached directly
    direct = AppTest.from_file(str(REPO / "pages/research/models.py"), default_timeout=60)
    direct.session_state["auth_user"] = users.User("dr.alice", "clinician")
    direct.run()
    assert "not available to your role (Clinician)" in direct.error[0].value
    assert not direct.title  # stopped before drawing anything


def test_sign_out_forgets_the_session(local_app):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    at = _sign_in("dr.alice")
    at.session_state["patient_analysis"] = {"something": "private"}
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in to OncoTx"
    assert "patient_analysis" not in at.session_state and "auth_user" not in at.session_state
    assert list(audit.events()["action"])[:2] == ["sign_out", "sign_in"]


def test_idle_session_expires(local_app, monkeypatch):
    users.create_user("dr.alice", PASSWORD, role="clinician")
    at = _sign_in("dr.alice")
    monkeypatch.setenv("ONCOTX_SESSION_MINUTES", "0")
    at.run()
    assert at.title[0].value == "Sign in to OncoTx"
    assert "expired" in at.info[0].value
    assert audit.events()["action"].iloc[0] == "session_expired"


def test_demo_mode_says_so_on_every_page(db, monkeypatch, tmp_path):
    monkeypatch.delenv("ONCOTX_AUTH", raising=False)  # the default without a data directory
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", str(tmp_path / "no-such-oncotx.toml"))
    st.cache_data.clear()
    at = _run()
    for page in ("pages/clinician/patient.py", "pages/clinician/history.py", "pages/research/models.py",
                 "pages/admin/audit.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert any("Demo mode: there is no sign-in" in w.value for w in at.warning), page
        assert any("Research use only" in i.value for i in at.info), page


def test_oidc_mode_is_chosen_from_secrets(db, monkeypatch, tmp_path):
    from dashboard.ui import auth

    monkeypatch.delenv("ONCOTX_AUTH", raising=False)
    monkeypatch.setattr(auth, "_secrets_section", lambda name: {
        "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32,
                 "google": {"client_id": "x", "client_secret": "y",
                            "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}},
    }.get(name, {}))
    assert auth.auth_mode() == "oidc" and auth.oidc_providers() == ["google"]
    monkeypatch.setenv("ONCOTX_AUTH", "nonsense")
    with pytest.raises(ValueError, match="ONCOTX_AUTH"):
        auth.auth_mode()


def test_oidc_sign_in_page_offers_the_configured_provider(db, monkeypatch, tmp_path):
    monkeypatch.delenv("ONCOTX_AUTH", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", str(tmp_path / "no-such-oncotx.toml"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "c" * 32,
                          "microsoft": {"client_id": "id", "client_secret": "secret",
                                        "server_metadata_url": "https://login.example/.well-known/openid-configuration"}}
    at.run()
    assert not at.exception and at.title[0].value == "Sign in to OncoTx"
    assert [b.label for b in at.button] == ["Sign in with Microsoft"]
    assert not at.text_input  # no local password form when the identity provider signs people in


def test_administrator_adds_and_changes_users_on_the_users_page(local_app):
    users.create_user("root", PASSWORD, role="admin")
    at = _sign_in("root")
    at.switch_page(str(REPO / "pages/admin/users.py")).run()
    at.text_input(key="new_username").input("Dr.Carol")
    at.text_input(key="new_password").input("carol's own passphrase")
    at.selectbox(key="new_role").select("researcher")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not at.exception and "Added dr\\.carol as researcher" in at.success[0].value
    at.selectbox(key="change_username").select("dr.carol")
    at.radio(key="change_state").set_value("disable")
    at.button(key="FormSubmitter:change_user-Apply").click().run()
    assert users.get_user("dr.carol") is None  # disabled
    trail = audit.events()
    changed = trail[trail["action"].isin(["user_created", "user_changed"])]
    assert list(zip(changed["action"], changed["subject"], strict=True)) == [("user_changed", "dr.carol"),
                                                                             ("user_created", "dr.carol")]
    assert "passphrase" not in " ".join(trail.astype(str).to_numpy().ravel())


# --------------------------------------------------------------------------------------------- session cookie


def test_session_token_is_signed_and_expires():
    from dashboard.ui import auth

    key, now = b"k" * 32, 1_800_000_000.0
    token = auth.make_token("dr.alice", now + 600, key=key)
    assert auth.verify_token(token, key=key, now=now) == "dr.alice"
    assert ";" not in token and " " not in token and "," not in token  # a valid cookie value
    assert auth.read_token(token, key=key, now=now) == ("dr.alice", pytest.approx(time.time(), abs=5))
    assert auth.verify_token(token, key=key, now=now + 601) is None  # expired
    assert auth.verify_token(token, key=b"x" * 32, now=now) is None  # another server's key
    payload, signature = token.split(".")
    forged = auth.make_token("root", now + 600, key=b"guess" * 8).split(".")[0]
    assert auth.verify_token(f"{forged}.{signature}", key=key, now=now) is None  # another payload, old signature
    assert auth.verify_token(f"{payload}.{signature[:-2]}AA", key=key, now=now) is None  # a changed signature
    for junk in ("", ".", "a.b.c", "not a token", f"{payload}."):
        assert auth.verify_token(junk, key=key, now=now) is None


def test_session_token_needs_an_active_account_and_is_refused_after_sign_out(db):
    from dashboard.ui import auth

    users.create_user("dr.alice", PASSWORD, role="clinician")
    token = auth.make_token("dr.alice", time.time() + 600)  # the key derives from the generated pseudonym key
    assert auth.user_from_token(token) == users.User("dr.alice", "clinician", "", "local")
    assert auth.user_from_token(auth.make_token("nobody", time.time() + 600)) is None
    users.update_user("dr.alice", role="researcher")
    assert auth.user_from_token(token).role == "researcher"  # the account's current role
    users.update_user("dr.alice", disabled=True)
    assert auth.user_from_token(token) is None  # a disabled account never comes back
    users.update_user("dr.alice", disabled=False)
    assert auth.user_from_token(token) is not None
    auth.log_action("sign_out", user=users.User("dr.alice", "clinician"))
    assert auth.user_from_token(token) is None and auth.user_from_token(None) is None  # signed out since
    assert auth.user_from_token(auth.make_token("dr.alice", time.time() + 600)) is not None  # a later sign-in


def test_a_new_session_is_restored_from_the_cookie_until_sign_out(local_app, monkeypatch):
    from dashboard.ui import auth

    users.create_user("dr.alice", PASSWORD, role="clinician")
    at = _sign_in("dr.alice")
    token = at.session_state["auth_token"]
    assert auth.verify_token(token) == "dr.alice"
    assert any("oncotx_session=" in h.proto.body and "SameSite=Strict" in h.proto.body for h in at.get("html"))
    monkeypatch.setattr(auth, "browser_cookie", lambda: token)  # what a reload's browser sends
    again = _run()
    assert again.title[0].value == "Patient" and not again.exception
    assert audit.events()["action"].iloc[0] == "session_restored"
    again.sidebar.button(key="sign_out").click().run()
    assert again.title[0].value == "Sign in to OncoTx"
    assert any("Max-Age=0" in h.proto.body for h in again.get("html"))  # the page clears the cookie
    assert _run().title[0].value == "Sign in to OncoTx"  # the signed-out token no longer signs anyone in
    monkeypatch.setattr(auth, "browser_cookie", lambda: token[:-3] + "abc")
    assert _run().title[0].value == "Sign in to OncoTx"


def test_public_demo_mode_rules(monkeypatch, tmp_path):
    """ONCOTX_DEMO=1: demo sign-in whatever ONCOTX_AUTH says, only Patient and Cohort, state outside ONCOTX_HOME."""
    from dashboard.platform import demo_mode
    from dashboard.platform.users import User
    from dashboard.ui import auth
    from genomics.settings import get_settings

    monkeypatch.setenv("ONCOTX_DEMO", "1")
    monkeypatch.setenv("ONCOTX_AUTH", "local")
    monkeypatch.setenv("ONCOTX_HOME", str(tmp_path / "home"))
    assert auth.auth_mode() == "demo"
    admin = User(username="a", role="admin", source="demo")
    assert [p for p in ("patient", "cohort", "history", "models", "audit", "users") if auth.allowed(admin, p)] \
        == ["patient", "cohort"]
    settings = get_settings()
    assert settings.data_dir is None and tmp_path not in settings.home.parents
    assert str(tmp_path) not in settings.database_url
    assert demo_mode.upload_within_limit(demo_mode.MAX_UPLOAD_MB * 2**20)
    assert not demo_mode.upload_within_limit(demo_mode.MAX_UPLOAD_MB * 2**20 + 1)
    ok, kept = demo_mode.allow_analysis([0.0] * demo_mode.ANALYSES_PER_WINDOW, 1.0)
    assert not ok and len(kept) == demo_mode.ANALYSES_PER_WINDOW
    assert demo_mode.allow_analysis(kept, demo_mode.RATE_WINDOW_S + 1.0) == (True, [demo_mode.RATE_WINDOW_S + 1.0])


def test_public_demo_mode_stores_no_audit_rows(monkeypatch, tmp_path):
    """ONCOTX_DEMO=1: an audited action is checked and logged, but no row reaches any database."""
    from genomics.settings import get_settings

    monkeypatch.setenv("ONCOTX_DEMO", "1")
    assert audit.record(_event(action="upload")) == 0
    assert audit.record(_event(action="analysis")) == 0
    with pytest.raises(audit.AuditError):  # still checked: a malformed event is a programming error
        audit.record(_event(detail="MRN 1234567"))
    assert audit.events().empty  # the demo's temporary database holds no audit row
    assert audit.verify_chain() == (True, "0 events; hash chain intact.")
    assert str(tmp_path) not in get_settings().database_url
    monkeypatch.delenv("ONCOTX_DEMO")
    url = f"sqlite:///{tmp_path / 'kept.sqlite'}"
    assert audit.record(_event(), url=url) >= 1 and len(audit.events(url=url)) == 1  # outside the demo: stored


def test_language_is_remembered_per_user(local_app):
    """A signed-in user's language choice comes back in their next session (a new browser, no ?language= in the
    address); another user, and the shared demo user, keep English."""
    users.create_user("dr.alice", PASSWORD, role="clinician")
    users.create_user("dr.bob", PASSWORD, role="clinician")
    at = _sign_in("dr.alice")
    assert at.title[0].value == "Patient"
    at.sidebar.selectbox(key="language").select("zh_CN").run()
    assert not at.exception and at.title[0].value == "患者"
    again = _sign_in("dr.alice")  # a fresh session
    assert not again.exception and again.title[0].value == "患者"
    assert again.sidebar.selectbox(key="language").value == "zh_CN"
    assert _sign_in("dr.bob").title[0].value == "Patient"
