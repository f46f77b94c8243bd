"""What the database must hold after a load run: one saved analysis per user, payloads that load, an intact audit
trail with each user's actions, and no patient data in any audit cell."""
from __future__ import annotations

import contextlib
import re

from bench.load.patients import Patient
from bench.load.session import SessionResult
from dashboard.platform import audit, store


def check_database(patients: list[Patient], results: list[SessionResult], *, everyone: list[Patient]) -> list[str]:
    """What the database must hold after the run; returns the problems found (empty when all is well)."""
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
