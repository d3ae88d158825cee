"""The per-process lookups of an API submission (grader/lookups.py): a warm submission costs
one SQL statement; a token revoked or a version imported elsewhere takes effect within
GRADER_LOOKUP_CACHE_SECONDS, and at once when this process made the change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, update

from grader import config as grader_config
from grader import create_app, lookups
from grader.extensions import db
from grader.models import ApiToken, ExerciseVersion, Submission, User, utcnow
from grader.services.exercises import import_exercises
from grader.services.users import hash_token
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem, listening, statements_of


class Clock:
    """A stand-in for time.monotonic that the test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(lookups.time, "monotonic", fake)
    return fake


def submit(client, token, user="lms-1", answers=ANSWERS, key=None):
    headers = auth(token) | ({"Idempotency-Key": key} if key else {})
    return client.post(SUBMIT_URL, json={"user": user, "answers": answers}, headers=headers)


def test_a_warm_submission_sends_one_statement_the_insert(imported, client, make_token):
    token = make_token()
    assert submit(client, token, key="first").status_code == 201
    sent = statements_of(imported, lambda: submit(client, token, key="second"))
    assert len(sent) == 1 and sent[0].startswith("INSERT INTO submissions"), sent
    # ...and what it answered is what was stored, with the user, version and token it names
    response = submit(client, token, user="lms-1", key="third")
    with imported.app_context():
        row = db.session.get(Submission, response.json["id"])
        assert row.user.external_id == "lms-1" == response.json["user"]
        assert row.version.number == response.json["version"] == 1
        stored_token = db.session.get(ApiToken, row.api_token_id)
        assert stored_token.token_hash == hash_token(token)
        assert row.score == response.json["score"]


def inserts_in_autocommit(app, action):
    """Run ``action``; return, per INSERT of a submission it sent, whether it ran in autocommit
    (committing by itself) rather than inside a transaction."""
    seen = []

    def record(conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("INSERT INTO submissions"):
            seen.append(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")

    listening(app, record, action)
    return seen


def test_the_insert_commits_alone_unless_the_request_read_the_database_first(
    imported, client, make_token, clock
):
    token = make_token()
    first = [submit(client, token)]  # creates the LMS user (and commits it)
    # Warm: nothing read before it, so the INSERT runs in autocommit, no BEGIN or COMMIT.
    second = []
    assert inserts_in_autocommit(imported, lambda: second.append(submit(client, token))) == [True]
    # The token's copy expires: the token is read again, which opens the request's
    # transaction, and the INSERT joins it.
    clock.now += 60
    third = []
    assert inserts_in_autocommit(imported, lambda: third.append(submit(client, token))) == [False]
    with imported.app_context():
        for response in (*first, *second, *third):
            assert response.status_code == 201
            assert db.session.get(Submission, response.json["id"]).score == response.json["score"]
    # The connection goes back to the pool in its usual mode: a later transaction still rolls
    # back what it wrote.
    with imported.app_context():
        db.session.execute(update(Submission).values(score=-1))
        db.session.rollback()
        assert db.session.scalar(select(func.min(Submission.score))) >= 0


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


def test_token_revoked_by_another_process_is_refused_within_the_ttl(
    imported, client, make_token, clock
):
    token = make_token()
    assert submit(client, token).status_code == 201
    with imported.app_context():  # as another web process or the CLI would: the row only
        db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()
    clock.now += imported.config["GRADER_LOOKUP_CACHE_SECONDS"] / 2
    assert submit(client, token).status_code == 201  # this process's copy is still fresh
    clock.now += imported.config["GRADER_LOOKUP_CACHE_SECONDS"]
    assert is_problem(submit(client, token), 401)


def test_token_revoked_here_is_refused_at_once(imported, client, make_token, clock):
    from grader.services.users import revoke_token

    token = make_token()
    assert submit(client, token).status_code == 201
    with imported.app_context():
        revoke_token(db.session.scalar(select(ApiToken.id)))
    assert is_problem(submit(client, token), 401)


def test_a_new_version_is_graded_within_the_ttl(imported, client, make_token, clock, tmp_path):
    token = make_token()
    assert submit(client, token).json["version"] == 1
    source = (imported.config["GRADER_EXERCISES_DIR"] / "jacobian-shape.yaml").read_text()
    edited = tmp_path / "jacobian-shape.yaml"
    edited.write_text(source.replace("title:", "title: Edited -", 1))
    with imported.app_context():  # a new version row, written as another process would
        other = lookups.cache("versions")
        saved = other._entries.copy()
        import_exercises([edited])
        other._entries.update(saved)  # ...so this process still holds version 1
    assert submit(client, token).json["version"] == 1
    clock.now += imported.config["GRADER_LOOKUP_CACHE_SECONDS"]
    assert submit(client, token).json["version"] == 2


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


def test_zero_seconds_turns_the_token_and_version_copies_off(imported, client, make_token):
    imported.config["GRADER_LOOKUP_CACHE_SECONDS"] = 0
    token = make_token()
    assert submit(client, token).status_code == 201
    with imported.app_context():
        db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()
    assert is_problem(submit(client, token), 401)


def test_users_are_kept_and_created_once(imported, client, make_token):
    token = make_token()
    for _ in range(3):
        assert submit(client, token, user="lms-7").json["user"] == "lms-7"
    with imported.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_apps_do_not_share_copies(imported, client, make_token, database_url, tmp_path):
    token = make_token()
    assert submit(client, token).status_code == 201
    other = create_app(grader_config.TestConfig(database_url, tmp_path / "other"))
    with other.app_context():
        assert lookups.cache("tokens").get(hash_token(token)) is None
        assert lookups.cache("versions").get("jacobian-shape") is None


class TestLookupCache:
    def test_entries_expire_after_the_given_seconds(self, clock):
        cache = lookups.LookupCache(2)
        cache.put("a", 1)
        clock.now += 1.9
        assert cache.get("a") == 1
        clock.now += 0.2
        assert cache.get("a") is None

    def test_none_never_expires_and_zero_keeps_nothing(self, clock):
        forever, off = lookups.LookupCache(None), lookups.LookupCache(0)
        forever.put("a", 1)
        off.put("a", 1)
        clock.now += 1e9
        assert forever.get("a") == 1 and off.get("a") is None

    def test_the_least_recently_used_entry_goes_first(self):
        cache = lookups.LookupCache(None, max_entries=2)
        cache.put("a", 1)
        cache.put("b", 2)
        assert cache.get("a") == 1  # b is now the least recently used
        cache.put("c", 3)
        assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_attach_reuses_what_the_session_already_holds(imported):
    with imported.app_context():
        loaded = db.session.scalar(select(ExerciseVersion).limit(1))
        saved = lookups.snapshot(loaded, "exercise")
        exercise_id, slug = loaded.exercise_id, loaded.exercise.slug
        db.session.remove()
        first = lookups.attach(saved)
        assert first in db.session and first.exercise in db.session
        assert lookups.attach(saved) is first  # the same row twice: one object
        db.session.remove()
        exercise = db.session.get(type(loaded.exercise), exercise_id)

        def attach_and_commit():
            again = lookups.attach(saved)
            assert again.exercise is exercise  # the related row the session already held
            assert again.exercise.slug == slug
            db.session.commit()  # attached objects are clean: nothing to write

        assert statements_of(imported, attach_and_commit) == []


def test_a_detached_object_is_as_a_query_loads_it(imported):
    """``detached`` builds the object a query would have loaded: the same values and identity,
    nothing to write once in a session, and a column it was not given loads on first read."""
    with imported.app_context():
        loaded = db.session.scalar(select(ExerciseVersion).limit(1))
        values = {"id": loaded.id, "number": loaded.number, "exercise_id": loaded.exercise_id}
        db.session.remove()
        built = lookups.detached(ExerciseVersion, values)
        state = inspect(built)
        assert state.detached and state.key == (ExerciseVersion, (values["id"],), None)
        assert not state.modified
        assert "spec" not in state.dict  # not given: left to load

        def add_read_commit():
            db.session.add(built)
            assert built.number == values["number"]
            assert built.spec["slug"] == built.exercise.slug  # loads what it was not given
            db.session.commit()  # nothing to write

        seen = statements_of(imported, add_read_commit)
        assert seen and all(s.startswith("SELECT") for s in seen), seen


def test_reading_a_result_is_one_statement(imported, client, make_token):
    token = make_token()
    created = submit(client, token, key="read-me")
    assert created.status_code == 201
    url = created.headers["Location"]
    assert client.get(url, headers=auth(token)).status_code == 200  # the token is copied now
    responses = []
    seen = statements_of(imported, lambda: responses.append(client.get(url, headers=auth(token))))
    assert responses[0].status_code == 200
    assert responses[0].get_json() == created.get_json()
    assert len(seen) == 1 and seen[0].startswith("SELECT")
