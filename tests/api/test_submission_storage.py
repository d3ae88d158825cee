"""Storing an API submission: what was answered is what was stored, a replayed key is found by
the unique index, a token revoked anywhere is refused on the next request, an import is graded
against at once, and the metric of stored submissions counts commits only."""

from __future__ import annotations

from sqlalchemy import func, select, update

from grader import metrics
from grader.extensions import db
from grader.models import ApiToken, ExerciseVersion, Submission, SubmissionPart, User, utcnow
from grader.services.exercises import import_exercises
from grader.services.users import hash_token
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem


def submit(client, token, user="lms-1", answers=ANSWERS, key=None):
    headers = auth(token) | ({"Idempotency-Key": key} if key else {})
    return client.post(SUBMIT_URL, json={"user": user, "answers": answers}, headers=headers)


def test_what_a_submission_answers_is_what_was_stored(imported, client, make_token):
    token = make_token()
    assert submit(client, token, key="first").status_code == 201
    response = submit(client, token, user="lms-1", key="second")
    assert response.status_code == 201
    with imported.app_context():
        row = db.session.get(Submission, response.json["id"])
        assert row.user.external_id == "lms-1" == response.json["user"]
        assert row.version.number == response.json["version"] == 1
        stored_token = db.session.get(ApiToken, row.api_token_id)
        assert stored_token.token_hash == hash_token(token)
        assert row.score == response.json["score"]
        assert [p["id"] for p in row.parts] == [p["id"] for p in response.json["parts"]]
        rows = db.session.scalars(
            select(SubmissionPart)
            .where(SubmissionPart.submission_id == row.id)
            .order_by(SubmissionPart.position)
        ).all()
        assert [(r.part_id, r.score, r.status) for r in rows] == [
            (p["id"], p["score"], p["status"]) for p in response.json["parts"]
        ]


def test_a_stored_submission_is_counted_once_after_it_commits(imported, client, make_token):
    token = make_token()
    counter = metrics.SUBMISSIONS.labels("jacobian-shape", "shape", "graded")
    before = counter._value.get()
    assert submit(client, token, key="once").status_code == 201
    assert submit(client, token, key="once").status_code == 200  # a replay stores nothing
    assert counter._value.get() == before + 1


def test_a_replayed_key_is_found_by_the_unique_index(imported, client, make_token):
    token = make_token()
    first = submit(client, token, key="k")
    replay = submit(client, token, key="k")
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json == first.json
    changed = submit(client, token, answers=ANSWERS | {"shape": "m×n"}, key="k")
    assert is_problem(changed, 422, "idempotency-key-reused")
    with imported.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


def test_token_revoked_by_another_process_is_refused_on_the_next_request(
    imported, client, make_token
):
    token = make_token()
    assert submit(client, token).status_code == 201
    with imported.app_context():  # as another web process or the CLI would: the row only
        db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()
    assert is_problem(submit(client, token), 401)


def test_a_version_imported_by_another_process_is_graded_against_at_once(
    imported, client, make_token, tmp_path
):
    token = make_token()
    assert submit(client, token).json["version"] == 1
    source = (imported.config["GRADER_EXERCISES_DIR"] / "jacobian-shape.yaml").read_text()
    edited = tmp_path / "jacobian-shape.yaml"
    edited.write_text(source.replace("title:", "title: Edited -", 1))
    other = imported.test_cli_runner()
    with imported.app_context():
        assert db.session.scalar(select(func.max(ExerciseVersion.number))) == 1
    assert other.invoke(args=["exercises", "import", str(edited)]).exit_code == 0
    assert submit(client, token).json["version"] == 2


def test_token_revoked_here_is_refused_at_once(imported, client, make_token):
    from grader.services.users import revoke_token

    token = make_token()
    assert submit(client, token).status_code == 201
    with imported.app_context():
        revoke_token(db.session.scalar(select(ApiToken.id)))
    assert is_problem(submit(client, token), 401)


def test_an_import_in_this_process_is_graded_at_once(imported, client, make_token, tmp_path):
    token = make_token()
    assert submit(client, token).json["version"] == 1
    source = (imported.config["GRADER_EXERCISES_DIR"] / "jacobian-shape.yaml").read_text()
    edited = tmp_path / "jacobian-shape.yaml"
    edited.write_text(source.replace("title:", "title: Edited -", 1))
    with imported.app_context():
        import_exercises([edited])
        assert db.session.scalar(select(func.max(ExerciseVersion.number))) == 2
    assert submit(client, token).json["version"] == 2


def test_an_lms_user_is_created_once(imported, client, make_token):
    token = make_token()
    for _ in range(3):
        assert submit(client, token, user="lms-7").json["user"] == "lms-7"
    with imported.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
