"""Incremental sync: every change of grade or status is stamped (updated_at, change_seq) and
listed, in commit order, by GET /submissions and GET /scores?updated_since=, with a cursor that
skips nothing and repeats only what changed again, while other transactions write."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

import pytest

from grader.extensions import db
from grader.models import Submission
from grader.services import grading, review
from grader.services.changes import committed_horizon
from grader.services.regrade import regrade_exercise, regrade_submission, target_version
from grader.services.review import grade_review
from grader.services.users import create_user, lms_user
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem

ESSAY = {
    "partition": ["yes-model-parallel"],
    "discussion": "Split the layers over two GPUs when the parameters do not fit on one.",
}
LIST = "/api/v1/submissions"


def _teacher(app) -> int:
    with app.app_context():
        return create_user("t@example.org", "instructor", "pw-123456789").id


def _essay(app, user: str) -> int:
    with app.app_context():
        submission, _ = grading.submit("multi-gpu", lms_user(user), ESSAY, "api")
        return submission.id


def _review(app, submission_id: int, score: float, teacher_id: int) -> None:
    with app.app_context():
        from grader.models import User

        grade_review(submission_id, "discussion", score, "", db.session.get(User, teacher_id))


def _regrade(app, submission_id: int) -> None:
    with app.app_context():
        submission = db.session.get(Submission, submission_id)
        version = target_version(submission.version.exercise.slug)
        regrade_submission(submission, version, grading.spec_of(version), "test")
        db.session.commit()


class Lms:
    """An LMS's copy of the submissions and of the gradebook, kept by incremental sync."""

    def __init__(self, client, token: str, limit: int = 2) -> None:
        self.client, self.headers = client, auth(token)
        self.submissions: dict[int, dict] = {}
        self.scores: dict[tuple[str, str], dict] = {}
        since = "1970-01-01T00:00:00Z"
        self.next = {
            "submissions": f"{LIST}?limit={limit}",
            "scores": f"/api/v1/scores?updated_since={since}&limit={limit}",
        }
        self.pages = 0

    def _pull(self, kind: str) -> int:
        """Follow links.next to the end, then keep links.resume; return the items read."""
        url, read = self.next[kind], 0
        while url:
            response = self.client.get(url, headers=self.headers)
            assert response.status_code == 200, response.json
            body = response.json
            self.pages += 1
            for item in body["items"]:
                if kind == "submissions":
                    self.submissions[item["id"]] = item
                else:
                    self.scores[(item["user"], item["exercise"])] = item
            read += len(body["items"])
            self.next[kind] = body["links"]["resume"]
            url = body["links"]["next"]
        return read

    def sync(self) -> int:
        """Pull both lists; return how many items came."""
        return self._pull("submissions") + self._pull("scores")


def _server_state(client, token):
    """Every submission and every gradebook row as the server has them now, read afresh."""
    fresh = Lms(client, token, limit=500)
    fresh.sync()
    return fresh.submissions, fresh.scores


def test_every_writer_moves_a_submission_to_the_end_of_the_changes(
    imported, client, make_token, monkeypatch
):
    """Graded at once, graded by the queue, marked failed, reviewed, regraded: each change
    comes after every earlier one, with a later updated_at, and the resume link finds it."""
    token = make_token()
    teacher = _teacher(imported)
    essay = _essay(imported, "e1")
    monkeypatch.setattr(grading, "is_deferred", lambda part: part.kind == "choice")
    monkeypatch.setitem(imported.extensions, grading.ENQUEUE, lambda _id: None)
    headers = auth(token)
    queued = [
        client.post(SUBMIT_URL, json={"user": f"q{i}", "answers": ANSWERS}, headers=headers).json
        for i in range(2)
    ]
    assert [q["status"] for q in queued] == ["queued", "queued"]
    lms = Lms(client, token)
    lms.sync()
    assert set(lms.submissions) == {queued[0]["id"], queued[1]["id"], essay}
    seen = {sid: item["updated_at"] for sid, item in lms.submissions.items()}

    def changed_by(action, sid, status):
        before = lms.submissions[sid]["updated_at"]
        action()
        assert lms.sync() >= 1
        assert [s for s in lms.submissions if lms.submissions[s]["updated_at"] > seen[s]] == [sid]
        assert lms.submissions[sid]["status"] == status
        assert lms.submissions[sid]["updated_at"] > before
        seen[sid] = lms.submissions[sid]["updated_at"]

    def in_context(function, *args):
        def run():
            with imported.app_context():
                function(*args)

        return run

    changed_by(in_context(grading.finish_deferred, queued[0]["id"]), queued[0]["id"], "graded")
    changed_by(in_context(grading.mark_failed, queued[1]["id"], "boom"), queued[1]["id"], "error")
    changed_by(lambda: _review(imported, essay, 1.5, teacher), essay, "graded")
    reviewed = lms.submissions[essay]["score"]
    changed_by(lambda: _regrade(imported, queued[0]["id"]), queued[0]["id"], "graded")
    with imported.app_context():
        regrade_exercise("multi-gpu")
    assert lms.sync() >= 1 and lms.submissions[essay]["updated_at"] > seen[essay]
    assert lms.submissions[essay]["score"] == reviewed  # the regrade keeps the review
    fresh = client.post(SUBMIT_URL, json={"user": "n", "answers": {}}, headers=headers).json
    lms.sync()
    assert lms.submissions[fresh["id"]] == client.get(f"{LIST}/{fresh['id']}", headers=headers).json
    assert lms.sync() == 0  # nothing changed: nothing comes again


def test_a_review_of_an_old_submission_reaches_a_gradebook_synced_since(
    imported, client, make_token
):
    """The defect: a grade changed after the LMS's last sync, on a submission created before
    it, was never listed (the filter read created_at). updated_since reads the change."""
    token = make_token()
    teacher = _teacher(imported)
    essay = _essay(imported, "old")
    _essay(imported, "before")
    with imported.app_context():
        db.session.get(Submission, essay).created_at = datetime(2024, 1, 1, tzinfo=UTC)
        db.session.commit()
    last_sync = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    url = f"/api/v1/scores?updated_since={last_sync}"
    before = client.get(url, headers=auth(token)).json
    assert before["items"] == [] and before["links"]["resume"]
    _review(imported, essay, 2.0, teacher)
    for listing in (url, before["links"]["resume"]):
        rows = client.get(listing, headers=auth(token)).json["items"]
        assert [(r["user"], r["best_score"], r["pending_review"]) for r in rows] == [
            ("old", rows[0]["best_score"], 0)
        ]
        assert rows[0]["best_score"] is not None and rows[0]["updated_at"] >= last_sync
    _essay(imported, "new")  # changed after last_sync too (waiting for review)
    export = client.get(f"/api/v1/scores.csv?updated_since={last_sync}", headers=auth(token))
    users = [line.split(",")[0] for line in export.get_data(as_text=True).splitlines()]
    assert users == ["user_id", "old", "new"]  # by user; not "before", unchanged since


def test_cursors_of_one_order_are_refused_by_the_other(imported, client, make_token, gradebook):
    headers = auth(make_token())
    by_user = client.get("/api/v1/scores?limit=1", headers=headers).json["links"]["next"]
    cursor = by_user.split("cursor=")[1]
    changed = client.get(f"/api/v1/scores?updated_since=2000-01-01&limit=1&cursor={cursor}")
    assert changed.status_code == 401
    for url in (
        f"/api/v1/scores?updated_since=2000-01-01T00:00:00Z&cursor={cursor}",
        f"{LIST}?cursor={cursor}",
        f"{LIST}?cursor=Yzk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk",
        f"{LIST}?cursor=%C2%B2",
    ):
        assert is_problem(client.get(url, headers=headers), 400, "invalid-cursor"), url


@pytest.fixture()
def gradebook(imported, client, make_token):
    token = make_token()
    for user in ("a", "b"):
        client.post(SUBMIT_URL, json={"user": user, "answers": ANSWERS}, headers=auth(token))


def test_a_change_that_commits_late_is_not_skipped(imported, client, make_token, monkeypatch):
    """A review that took its change number but has not committed while another writer
    submits and the LMS syncs: the LMS gets both, in the order they committed. (With times
    from each process's clock as the cursor, the later submission would pass the review's
    time and the review would never be listed.)"""
    token = make_token()
    teacher = _teacher(imported)
    essay = _essay(imported, "slow")
    lms = Lms(client, token)
    lms.sync()
    stamped, release = threading.Event(), threading.Event()
    spec_of = review.spec_of

    def slow_spec_of(version):  # review calls it after record_parts, before its commit
        if threading.current_thread().name == "slow-review":
            stamped.set()
            assert release.wait(20)
        return spec_of(version)

    monkeypatch.setattr(review, "spec_of", slow_spec_of)
    slow = threading.Thread(
        target=_review, args=(imported, essay, 2.0, teacher), name="slow-review"
    )
    slow.start()
    assert stamped.wait(20)
    other = threading.Thread(target=_essay, args=(imported, "fast"))
    other.start()
    time.sleep(0.3)  # the other writer waits for the counter (or, on SQLite, the file)
    lms.sync()
    assert lms.submissions[essay]["status"] == "needs_review"  # not committed yet
    release.set()
    slow.join(20)
    other.join(20)
    lms.sync()
    assert lms.submissions[essay]["status"] == "graded"
    assert {item["user"] for item in lms.submissions.values()} == {"slow", "fast"}
    assert (lms.submissions, lms.scores) == _server_state(client, token)


def test_the_lms_copy_ends_equal_while_reviews_and_regrades_interleave_with_paging(
    imported, client, make_token
):
    """20 reviews and regrades from another thread, paged through two at a time meanwhile:
    after a last sync the LMS's copies equal the server's."""
    token = make_token()
    teacher = _teacher(imported)
    essays = [_essay(imported, f"s{i}") for i in range(6)]
    shapes = [
        client.post(
            SUBMIT_URL, json={"user": f"s{i}", "answers": ANSWERS}, headers=auth(token)
        ).json["id"]
        for i in range(4)
    ]
    lms = Lms(client, token)
    lms.sync()
    rng = random.Random(7)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer():
        try:
            for step in range(20):
                if step % 2 == 0:
                    _review(imported, rng.choice(essays), rng.choice([0, 0.5, 1, 1.5, 2]), teacher)
                else:
                    _regrade(imported, rng.choice(shapes + essays))
                time.sleep(rng.uniform(0, 0.02))
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    rounds = 0
    while not done.is_set():
        lms.sync()
        rounds += 1
    thread.join(30)
    assert not errors, errors
    lms.sync()
    assert rounds > 1 and lms.pages > 4
    assert (lms.submissions, lms.scores) == _server_state(client, token)
    with imported.app_context():
        assert committed_horizon() >= 10 + 20
