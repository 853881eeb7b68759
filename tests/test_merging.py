"""Merging two learner records: through the instructor page and the CLI, on SQLite and PG."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import ForeignKey, func, select

from app.config import Settings
from app.merging import DROPPED, KEPT, MOVED
from app.models import (
    Attempt,
    Base,
    Claim,
    Learner,
    LearnerMerge,
    LtiPlatform,
    LtiUser,
    ReferenceView,
    ScoreChange,
)
from tests.factories import GOOD_Q3, answer_page, post_form, start

POINT_RE = re.compile(r'name="point" value="([^"]+)"')
MERGE = "/instructor/class/merge"


def learner_id(app: FastAPI, name: str) -> int:
    """Return the id of the learner with this display name."""
    with app.state.db.reading() as session:
        return session.scalars(select(Learner.id).where(Learner.display_name == name)).one()


def two_records_of_one_person(app: FastAPI, instructor: TestClient) -> tuple[int, int]:
    """Make "Ada" (an attempt with a claim) and "Ada Lovelace" (two, one overridden)."""
    first = TestClient(app)
    start(first, "Ada", "ada@example.org")
    answered = answer_page(first, 3, "No, they differ.")
    result = answered.headers["location"]
    point = POINT_RE.search(first.get(result).text)
    assert point, "the weak answer should have a missed key point to claim"
    claim = {"point": point[1], "justification": "I meant they need a cast."}
    assert post_form(first, f"{result}/claims", claim, result).status_code == 303
    second = TestClient(app)
    start(second, "Ada Lovelace")
    overridden = answer_page(second, 3, GOOD_Q3).headers["location"].rsplit("/", 1)[1]
    answer_page(second, 4, "A custom layer keeps its weights in build().")
    page = f"/instructor/attempts/{overridden}"
    score = {"score": "5", "comment": "Half: the cast is not explained."}
    assert post_form(instructor, page, score, page).status_code == 303
    return learner_id(app, "Ada"), learner_id(app, "Ada Lovelace")


def test_a_merge_keeps_every_attempt_with_its_claims_and_score_changes(
    app: FastAPI, instructor_client: TestClient
) -> None:
    merged, kept = two_records_of_one_person(app, instructor_client)
    with app.state.db.reading() as session:
        before = session.scalars(select(Attempt.id).order_by(Attempt.id)).all()
        changes = session.scalar(select(func.count(ScoreChange.id)))
    confirm = post_form(instructor_client, MERGE, {"merged": merged, "kept": kept}, MERGE)
    assert confirm.status_code == 200
    assert "“Ada Lovelace” will have 3 attempts" in confirm.text
    with app.state.db.reading() as session:  # showing both changed nothing
        assert session.get(Learner, merged) is not None

    form = {"merged": str(merged), "kept": str(kept), "action": "merge"}
    done = post_form(instructor_client, MERGE, form, MERGE)
    assert done.status_code == 303 and done.headers["location"] == f"/instructor/learners/{kept}"
    page = instructor_client.get(done.headers["location"])
    assert "“Ada” merged into “Ada Lovelace”: 1 attempt moved." in page.text

    with app.state.db.reading() as session:
        assert session.get(Learner, merged) is None
        owners = session.execute(select(Attempt.id, Attempt.learner_id).order_by(Attempt.id))
        assert [(a, kept) for a in before] == [tuple(row) for row in owners]
        claim = session.scalars(select(Claim)).one()
        assert claim.justification == "I meant they need a cast."
        assert session.get_one(Attempt, claim.attempt_id).learner_id == kept
        assert session.scalar(select(func.count(ScoreChange.id))) == changes
        assert session.get_one(Learner, kept).email == "ada@example.org"
        log = session.scalars(select(LearnerMerge)).one()
        assert (log.kept_id, log.merged_id, log.merged_name, log.attempts_moved) == (
            kept,
            merged,
            "Ada",
            1,
        )


def test_a_merge_into_itself_or_an_unknown_learner_is_refused(
    app: FastAPI, instructor_client: TestClient
) -> None:
    start(TestClient(app), "Ada")
    ada = learner_id(app, "Ada")
    form = {"merged": str(ada), "kept": str(ada), "action": "merge"}
    itself = post_form(instructor_client, MERGE, form, MERGE)
    assert itself.status_code == 422 and "cannot be merged into themselves" in itself.text
    form["kept"] = "999999"
    unknown = post_form(instructor_client, MERGE, form, MERGE)
    assert unknown.status_code == 422 and "There is no learner 999999" in unknown.text
    form["kept"] = "0"
    assert post_form(instructor_client, MERGE, form, MERGE).status_code == 422
    forged = instructor_client.post(MERGE, data=form, follow_redirects=False)
    assert forged.status_code == 403
    with app.state.db.reading() as session:
        assert session.get(Learner, ada) is not None


def test_answers_sent_with_the_same_idempotency_key_both_survive(
    app: FastAPI, instructor_client: TestClient
) -> None:
    headers = {"Idempotency-Key": "retry-0001"}
    for name in ("Ada", "Ada Lovelace"):
        body = {"learner": name, "text": GOOD_Q3}
        sent = TestClient(app).post("/api/questions/3/answers", json=body, headers=headers)
        assert sent.status_code == 201, sent.text
    merged, kept = learner_id(app, "Ada"), learner_id(app, "Ada Lovelace")
    form = {"merged": str(merged), "kept": str(kept), "action": "merge"}
    assert post_form(instructor_client, MERGE, form, MERGE).status_code == 303
    with app.state.db.reading() as session:
        keys = session.execute(
            select(Attempt.learner_id, Attempt.idempotency_key).order_by(Attempt.id)
        ).all()
        assert [tuple(k) for k in keys] == [(kept, None), (kept, "retry-0001")]
        # Both saw the reference answer: one sight is kept, the earlier.
        views = session.scalars(select(ReferenceView)).all()
        assert [(v.learner_id, v.question_id) for v in views] == [(kept, views[0].question_id)]


def test_the_cli_merges_and_refuses_a_merge_into_itself(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    start(TestClient(app), "Ada")
    start(client, "Ada L")
    answer_page(client, 3, GOOD_Q3)
    merged, kept = learner_id(app, "Ada L"), learner_id(app, "Ada")
    env = {**os.environ, "TFQUIZ_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["TFQUIZ_DATABASE_URL"] = settings.database_url

    def tfquiz(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "app", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    itself = tfquiz("merge-learners", str(kept), str(kept))
    assert itself.returncode == 1 and "cannot be merged into themselves" in itself.stderr
    done = tfquiz("merge-learners", str(merged), str(kept))
    assert done.returncode == 0, done.stderr
    assert f"Merged learner {merged} (Ada L) into {kept} (Ada): 1 attempt moved." in done.stdout
    with app.state.db.reading() as session:
        assert session.scalars(select(Attempt.learner_id)).all() == [kept]


def test_every_table_that_names_a_learner_has_a_merge_rule() -> None:
    naming = {
        table.name
        for table in Base.metadata.sorted_tables
        for key in table.foreign_keys
        if isinstance(key, ForeignKey) and key.column.table.name == "learner"
    }
    assert naming - (MOVED | DROPPED | KEPT) == set(), "decide in app/merging.py"


def test_a_merged_learners_browser_is_never_taken_for_a_new_learner(
    app: FastAPI, instructor_client: TestClient
) -> None:
    start(TestClient(app), "Ada Lovelace")
    second_record = TestClient(app)
    start(second_record, "Ada L")  # the highest id: the one SQLite would hand out again
    answer_page(second_record, 3, GOOD_Q3)
    merged, kept = learner_id(app, "Ada L"), learner_id(app, "Ada Lovelace")
    form = {"merged": str(merged), "kept": str(kept), "action": "merge"}
    assert post_form(instructor_client, MERGE, form, MERGE).status_code == 303
    newcomer = TestClient(app)
    start(newcomer, "Mallory")
    assert learner_id(app, "Mallory") != merged
    home = second_record.get("/")
    assert "Mallory" not in home.text and 'name="name"' in home.text  # asked to start again


def test_an_lms_account_follows_its_learner_into_the_kept_record(
    app: FastAPI, instructor_client: TestClient
) -> None:
    merged, kept = two_records_of_one_person(app, instructor_client)
    with app.state.db.writing() as session:  # "Ada" once came in from an LMS
        platform = LtiPlatform(
            issuer="https://lms.example.edu",
            client_id="tfquiz",
            login_url="https://lms.example.edu/auth",
            token_url="https://lms.example.edu/token",
            jwks_url="https://lms.example.edu/jwks",
        )
        session.add(platform)
        session.flush()
        session.add(LtiUser(platform_id=platform.id, sub="lms-user-17", learner_id=merged))
    form = {"merged": str(merged), "kept": str(kept), "action": "merge"}
    assert post_form(instructor_client, MERGE, form, MERGE).status_code == 303
    with app.state.db.reading() as session:
        account = session.scalars(select(LtiUser)).one()
        assert account.learner_id == kept  # its next launch, and its scores, are the kept one's
