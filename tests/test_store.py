"""Saved analyses on real SQLite files: exact round trip, newest-first listing per user, ownership, tamper
detection, all-or-nothing saves, and an explicit ``sqlite:///`` URL besides the ONCOTX_HOME default; labels
(patient, date, note) saved, listed and searched, and a database made before labels existed migrated in place."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.platform import store
from dashboard.platform.db import database_url, get_engine
from dashboard.platform.store import StoreError, delete_analysis, list_analyses, load_analysis, save_analysis
from tests.test_report import make_analysis


@pytest.fixture(params=["default", "explicit", "postgresql"])
def url(request, tmp_path) -> str | None:
    """None: the default database under this test's ONCOTX_HOME; an explicit SQLite file URL; a PostgreSQL database
    (a scratch server, tests/postgres.py)."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return None if request.param == "default" else f"sqlite:///{tmp_path / 'explicit.sqlite'}"


def _count(url: str | None) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM analyses")).scalar_one()


def test_round_trip_is_exact(url):
    a = make_analysis()
    analysis_id = save_analysis(a, url=url)
    assert re.fullmatch(r"[0-9a-f]{32}", analysis_id), analysis_id
    again = save_analysis(a, url=url)  # a fresh id per save, never derived from the content
    assert re.fullmatch(r"[0-9a-f]{32}", again) and again != analysis_id
    assert load_analysis(again, url=url).to_json() == a.to_json()
    back = load_analysis(analysis_id, url=url)
    assert back.to_json() == a.to_json()
    assert back == a
    assert load_analysis(analysis_id, user="dr.alice", url=url).to_json() == a.to_json()


def test_default_database_lives_under_oncotx_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("other-home")
    monkeypatch.setenv("ONCOTX_HOME", str(home))
    save_analysis(make_analysis())
    assert database_url() == f"sqlite:///{home / 'oncotx.sqlite'}"
    assert (home / "oncotx.sqlite").is_file()


def test_row_columns(url):
    a = make_analysis()
    analysis_id = save_analysis(a, url=url)
    with Session(get_engine(url)) as s:
        row = s.get(store.AnalysisRow, analysis_id)
        assert (row.user, row.patient_id, row.cohort_id, row.model_id) == (
            "dr.alice", "PT-Ünïcødé–01", "metabric", a.model_id)
        assert row.bundle_sha256 == "ab" * 32 and row.expression_sha256 == "cd" * 32
        assert row.records_sha256 == "ef" * 32
        assert row.summary == ("vs None (no treatment): 3 likely benefit, 1 possible harm, 1 no expected benefit, "
                               "1 uncertain, 1 not enough evidence")
        assert row.label == "PT-Ünïcødé–01 · 2026-03-14"  # patient and date when no note is given
        assert row.payload == a.to_json()
    no_records = replace(a, inputs_sha256={"expression": "cd" * 32})
    with Session(get_engine(url)) as s:
        assert s.get(store.AnalysisRow, save_analysis(no_records, url=url)).records_sha256 is None


def test_list_newest_first_and_per_user(url):
    ids = {}
    for created, user in (("2026-01-01T10:00:00+00:00", "alice"), ("2026-03-01T10:00:00+00:00", "bob"),
                          ("2026-02-01T10:00:00+01:00", "alice"), ("2026-04-01T08:00:00", "alice")):
        ids[created] = save_analysis(make_analysis(user=user, created=created), url=url)
    everyone = list_analyses(url=url)
    assert list(everyone.columns) == ["id", "created", "user", "patient_id", "cohort_id", "model_id", "summary",
                                      "label"]
    assert list(everyone["id"]) == [ids["2026-04-01T08:00:00"], ids["2026-03-01T10:00:00+00:00"],
                                    ids["2026-02-01T10:00:00+01:00"], ids["2026-01-01T10:00:00+00:00"]]
    assert str(everyone["created"].dt.tz) == "UTC"
    assert everyone["created"].iloc[2].isoformat() == "2026-02-01T09:00:00+00:00"
    alice = list_analyses(user="alice", url=url)
    assert list(alice["user"]) == ["alice"] * 3
    assert alice["created"].is_monotonic_decreasing
    assert list(list_analyses(user="bob", url=url)["id"]) == [ids["2026-03-01T10:00:00+00:00"]]
    assert list_analyses(user="nobody", url=url).empty
    assert len(list_analyses(url=url, limit=2)) == 2


def test_empty_list_has_the_columns(url):
    frame = list_analyses(url=url)
    assert frame.empty and "summary" in frame.columns and "payload" not in frame.columns


def test_other_user_cannot_load_or_delete(url):
    analysis_id = save_analysis(make_analysis(user="alice"), url=url)
    with pytest.raises(StoreError, match="not yours"):
        load_analysis(analysis_id, user="mallory", url=url)
    assert delete_analysis(analysis_id, user="mallory", url=url) is False
    assert _count(url) == 1
    assert delete_analysis(analysis_id, user="alice", url=url) is True
    assert _count(url) == 0
    assert delete_analysis(analysis_id, url=url) is False


def test_admin_deletes_any(url):
    analysis_id = save_analysis(make_analysis(user="alice"), url=url)
    assert delete_analysis(analysis_id, url=url) is True
    with pytest.raises(StoreError, match="does not exist"):
        load_analysis(analysis_id, url=url)


def test_unknown_id_is_refused(url):
    with pytest.raises(StoreError, match="No saved analysis"):
        load_analysis("0" * 32, url=url)
    with pytest.raises(StoreError):
        load_analysis("'; DROP TABLE analyses; --", url=url)
    assert _count(url) == 0  # the table is still there


def test_tampered_payload_is_refused(url):
    analysis_id = save_analysis(make_analysis(), url=url)
    with get_engine(url).begin() as conn:
        conn.execute(sa.text("UPDATE analyses SET payload = replace(payload, 'likely benefit', 'possible harm') "
                             "WHERE id = :id"), {"id": analysis_id})
    with pytest.raises(StoreError, match="integrity check"):
        load_analysis(analysis_id, url=url)


def test_failure_mid_save_leaves_nothing(url, monkeypatch):
    original = Session.flush

    def flush_then_fail(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the row is written inside the transaction ...
        raise RuntimeError("disk full")  # ... and then something fails before the commit

    monkeypatch.setattr(Session, "flush", flush_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        save_analysis(make_analysis(), url=url)
    monkeypatch.undo()
    assert _count(url) == 0
    assert list_analyses(url=url).empty


def test_unserialisable_analysis_is_refused(url):
    bad = make_analysis()
    bad.molecular = {"pam50": {"subtype": object()}}
    with pytest.raises(StoreError, match="cannot be saved"):
        save_analysis(bad, url=url)
    with pytest.raises(StoreError, match="longer than"):
        save_analysis(replace(make_analysis(), user="x" * 300), url=url)
    assert _count(url) == 0


def test_summary_without_options():
    assert store.analysis_summary(replace(make_analysis(), options=[])) == "No treatment options"


def test_old_summaries_are_shown_in_todays_words():
    assert store.shown_summary("Options vs chemotherapy+hormone_therapy: 2 uncertain") == \
        "vs Chemo + Hormone: 2 uncertain"
    assert store.shown_summary("vs None (no treatment): 1 small") == "vs None (no treatment): 1 small"


def test_summary_reads_current_and_old_codes_in_plain_words():
    rows = [{"regimen": "none", "reading": "reference", "is_baseline": True},
            {"regimen": "hormone_therapy", "reading": "worthwhile benefit"},
            {"regimen": "radio_therapy", "reading": "small benefit"},
            {"regimen": "chemotherapy", "reading": "uncertain (no interval: single model)"},
            {"regimen": "chemotherapy+hormone_therapy", "reading": "likely benefit"}]  # an old code
    line = store.analysis_summary(replace(make_analysis(), options=rows))
    assert line == "vs None (no treatment): 1 worthwhile, 1 small, 1 likely benefit, 1 uncertain"
    assert "_" not in line and "Options vs" not in line


def test_label_round_trip_and_note(url):
    a = make_analysis()
    label = store.analysis_label(a, "  second   opinion, tumour board ")
    assert label == "PT-Ünïcødé–01 · 2026-03-14 · second opinion, tumour board"
    analysis_id = save_analysis(a, label=label, url=url)
    [row] = list_analyses(url=url).itertuples()
    assert (row.id, row.label) == (analysis_id, label)
    assert store.shown_label(row) == label
    assert load_analysis(analysis_id, url=url).to_json() == a.to_json()  # the label is not in the payload
    long = save_analysis(a, label="x" * 1000, url=url)
    assert len(list_analyses(url=url).set_index("id").at[long, "label"]) == store.LABEL_MAX


def test_search_by_label_patient_date_and_note(url):
    first = save_analysis(make_analysis(patient_id="PT-aaa1", created="2026-01-05T10:00:00+00:00"),
                          label="PT-aaa1 · 2026-01-05 · tumour board", url=url)
    second = save_analysis(make_analysis(patient_id="PT-bbb2", created="2026-02-07T10:00:00+00:00"),
                           label="PT-bbb2 · 2026-02-07 · second opinion", url=url)
    third = save_analysis(make_analysis(patient_id="PT-ccc3", created="2026-02-09T10:00:00+00:00"), url=url)
    ids = lambda q: list(list_analyses(url=url, search=q)["id"])  # noqa: E731
    assert ids("") == [third, second, first]
    assert ids("TUMOUR") == [first]  # the note, case-insensitive
    assert ids("pt-bbb2") == [second]  # the patient
    assert ids("2026-02") == [third, second]  # the date (also of an analysis saved without a note)
    assert ids("second 2026-02-07") == [second]  # every word must match
    assert ids("likely benefit") == [third, second, first]  # the summary
    assert ids("nothing-like-this") == []
    assert list(list_analyses(url=url, search="2026", limit=1)["id"]) == [third]
    frame = list_analyses(url=url)
    assert list(store.search_analyses(frame, "opinion")["id"]) == [second]


def test_old_database_without_label_is_migrated(tmp_path):
    """A database written before the label column existed: it is added on first use, old rows list by patient
    and date, new saves carry their label."""
    path = tmp_path / "old.sqlite"
    old = sa.create_engine(f"sqlite:///{path}")
    with old.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE analyses (id VARCHAR(32) PRIMARY KEY, created DATETIME, saved DATETIME, user VARCHAR(255), "
            "patient_id VARCHAR(255), cohort_id VARCHAR(255), model_id VARCHAR(255), bundle_sha256 VARCHAR(64), "
            "expression_sha256 VARCHAR(64), records_sha256 VARCHAR(64), summary VARCHAR(300), payload TEXT, "
            "payload_sha256 VARCHAR(64))"))
        payload = make_analysis(patient_id="PT-old").to_json()
        conn.execute(sa.text(
            "INSERT INTO analyses VALUES ('0123456789abcdef0123456789abcdef', '2025-12-01 08:30:00.000000', "
            "'2025-12-01 08:30:00.000000', 'dr.alice', 'PT-old', 'metabric', 'm', :b, :e, NULL, "
            "'Options vs none: 1 likely benefit', :p, :h)"),
            {"b": "ab" * 32, "e": "cd" * 32, "p": payload, "h": store._sha256(payload)})
    old.dispose()
    url = f"sqlite:///{path}"
    [row] = list_analyses(url=url).itertuples()
    assert row.patient_id == "PT-old" and row.label is None
    assert row.summary == "vs None (no treatment): 1 likely benefit"  # an old summary in today's words
    assert store.shown_label(row) == "PT-old · 2025-12-01 08:30"  # never the id
    assert load_analysis(row.id, url=url).patient_id == "PT-old"
    new = save_analysis(make_analysis(), label="PT-new · note", url=url)
    assert list(list_analyses(url=url, search="note")["id"]) == [new]
    assert list(list_analyses(url=url, search="PT-old")["id"]) == [row.id]
    with get_engine(url).connect() as conn:
        assert "label" in {c["name"] for c in sa.inspect(conn).get_columns("analyses")}
