"""Every API read and write stays inside the token's course (DESIGN section 9): another course's
submissions, scores, users, exercises and tokens are a 404 that reveals nothing; the routes under
/api/v1/courses/{course}/ act in the course named, which the token must reach."""

from __future__ import annotations

import pytest

from grader.extensions import db
from grader.models import ApiToken, Exercise, Submission
from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, is_problem


@pytest.fixture()
def two_courses(imported):
    """Courses alpha and beta, both assigning jacobian-shape and beta one more exercise; return
    the secrets of a submit/read token and an admin token of each, and of an all-courses admin
    token, and the slug of beta's other exercise."""
    from grader.services.courses import create_course, ensure_assignment
    from grader.services.users import create_token

    with imported.app_context():
        exercise = db.session.scalar(db.select(Exercise).where(Exercise.slug == "jacobian-shape"))
        other = db.session.scalar(
            db.select(Exercise).where(Exercise.slug != "jacobian-shape").order_by(Exercise.slug)
        )
        alpha = create_course("alpha", "Alpha")
        beta = create_course("beta", "Beta")
        ensure_assignment(alpha, exercise)
        ensure_assignment(beta, exercise)
        ensure_assignment(beta, other)
        db.session.commit()
        tokens = {
            "a": create_token("lms-a", ("submit", "read:scores"), alpha)[1],
            "b": create_token("lms-b", ("submit", "read:scores"), beta)[1],
            "a-admin": create_token("admin-a", ("admin",), alpha)[1],
            "b-admin": create_token("admin-b", ("admin",), beta)[1],
            "all": create_token("root", ("admin",), all_courses=True)[1],
            "other_slug": other.slug,
        }
    return tokens


def _submit(client, token, user="ann", url=SUBMIT_URL):
    response = client.post(url, json={"user": user, "answers": ANSWERS}, headers=auth(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_token_of_course_a_gets_404_for_course_bs_submission(client, two_courses):
    mine = _submit(client, two_courses["a"])
    theirs = _submit(client, two_courses["b"], user="bob")
    assert (
        client.get(f"/api/v1/submissions/{mine['id']}", headers=auth(two_courses["a"])).json["id"]
        == mine["id"]
    )
    for token in ("a", "a-admin"):
        response = client.get(
            f"/api/v1/submissions/{theirs['id']}", headers=auth(two_courses[token])
        )
        assert is_problem(response, 404, "submission-not-found")
        # The same body as for an id that does not exist: nothing is revealed.
        missing = client.get("/api/v1/submissions/999999", headers=auth(two_courses[token]))
        assert response.json["title"] == missing.json["title"]
    # The all-courses token reads both.
    for row in (mine, theirs):
        assert (
            client.get(
                f"/api/v1/submissions/{row['id']}", headers=auth(two_courses["all"])
            ).status_code
            == 200
        )


def test_a_token_of_course_a_gets_404_for_course_bs_scores_and_users(client, two_courses):
    _submit(client, two_courses["a"], user="ann")
    _submit(client, two_courses["b"], user="bob")
    rows = client.get("/api/v1/scores", headers=auth(two_courses["a"])).json["items"]
    assert [r["user"] for r in rows] == ["ann"]
    assert is_problem(
        client.get("/api/v1/scores?user=bob", headers=auth(two_courses["a"])), 404, "user-not-found"
    )
    assert is_problem(
        client.get("/api/v1/scores?user=nobody", headers=auth(two_courses["a"])),
        404,
        "user-not-found",
    )
    csv_text = client.get("/api/v1/scores?format=csv", headers=auth(two_courses["a"])).get_data(
        as_text=True
    )
    assert "ann" in csv_text and "bob" not in csv_text
    # Beta's token sees only bob; the all-courses token both.
    rows = client.get("/api/v1/scores", headers=auth(two_courses["b"])).json["items"]
    assert [r["user"] for r in rows] == ["bob"]
    rows = client.get("/api/v1/scores", headers=auth(two_courses["all"])).json["items"]
    assert sorted(r["user"] for r in rows) == ["ann", "bob"]


def test_the_same_user_submitting_in_two_courses_counts_in_each_separately(client, two_courses):
    """One LMS (one issuer) with a token per course: the user is one person, and each course's
    gradebook counts only the submissions made in it."""
    from grader.services.courses import course_by_slug
    from grader.services.users import create_token

    with client.application.app_context():
        shared = [
            create_token(
                f"lms-{slug}", ("submit", "read:scores"), course_by_slug(slug), issuer="api:school"
            )[1]
            for slug in ("alpha", "beta")
        ]
    _submit(client, shared[0], user="kim")
    _submit(client, shared[0], user="kim")
    _submit(client, shared[1], user="kim")
    counts = [
        client.get("/api/v1/scores?user=kim", headers=auth(t)).json["items"][0]["submissions"]
        for t in shared
    ]
    assert counts == [2, 1]


def test_exercises_not_assigned_in_the_course_are_404(client, two_courses):
    other = two_courses["other_slug"]
    listed = client.get("/api/v1/exercises", headers=auth(two_courses["a"])).json["items"]
    assert [e["slug"] for e in listed] == ["jacobian-shape"]
    listed_b = client.get("/api/v1/exercises", headers=auth(two_courses["b"])).json["items"]
    assert {e["slug"] for e in listed_b} == {"jacobian-shape", other}
    assert is_problem(
        client.get(f"/api/v1/exercises/{other}", headers=auth(two_courses["a"])),
        404,
        "exercise-not-found",
    )
    response = client.post(
        f"/api/v1/exercises/{other}/submissions",
        json={"user": "ann", "answers": {"x": "1"}},
        headers=auth(two_courses["a"]),
    )
    assert is_problem(response, 404, "exercise-not-found")
    response = client.post(
        f"/api/v1/exercises/{other}/preview",
        json={"part": "x", "answer": "1"},
        headers=auth(two_courses["a"]),
    )
    assert is_problem(response, 404, "exercise-not-found")
    assert (
        client.get(f"/api/v1/exercises/{other}", headers=auth(two_courses["b"])).status_code == 200
    )


def test_course_routes_act_in_the_course_named_which_the_token_must_reach(client, two_courses):
    a, everything = auth(two_courses["a"]), auth(two_courses["all"])
    url = "/api/v1/courses/alpha/exercises/jacobian-shape/submissions"
    created = client.post(url, json={"user": "ann", "answers": ANSWERS}, headers=a)
    assert created.status_code == 201
    assert created.headers["Location"].endswith(
        f"/api/v1/courses/alpha/submissions/{created.json['id']}"
    )
    assert client.get(created.headers["Location"], headers=a).status_code == 200
    assert client.get("/api/v1/courses/alpha/scores", headers=a).json["items"][0]["user"] == "ann"
    assert client.get("/api/v1/courses/alpha/exercises", headers=a).status_code == 200
    # Beta, and a course that does not exist, are the same 404 for alpha's token.
    for course in ("beta", "no-such-course", "Bad_Slug"):
        for path in (
            "exercises",
            "scores",
            "exercises/jacobian-shape",
            f"submissions/{created.json['id']}",
        ):
            assert is_problem(
                client.get(f"/api/v1/courses/{course}/{path}", headers=a), 404, "course-not-found"
            ), (course, path)
        response = client.post(
            f"/api/v1/courses/{course}/exercises/jacobian-shape/submissions",
            json={"user": "ann", "answers": ANSWERS},
            headers=a,
        )
        assert is_problem(response, 404, "course-not-found")
    # The all-courses token submits in beta through beta's route; alpha's route does not show it.
    in_beta = client.post(
        "/api/v1/courses/beta/exercises/jacobian-shape/submissions",
        json={"user": "zed", "answers": ANSWERS},
        headers=everything,
    )
    assert in_beta.status_code == 201
    assert is_problem(
        client.get(f"/api/v1/courses/alpha/submissions/{in_beta.json['id']}", headers=everything),
        404,
        "submission-not-found",
    )
    with client.application.app_context():
        row = db.session.get(Submission, in_beta.json["id"])
        assert row.assignment.course.slug == "beta"


def test_courses_lists_the_courses_a_token_reaches(client, two_courses):
    mine = client.get("/api/v1/courses", headers=auth(two_courses["a"])).json["items"]
    assert [c["slug"] for c in mine] == ["alpha"]
    every = client.get("/api/v1/courses?limit=2", headers=auth(two_courses["all"])).json
    assert [c["slug"] for c in every["items"]] == ["alpha", "beta"]
    rest = client.get(every["links"]["next"], headers=auth(two_courses["all"])).json
    assert [c["slug"] for c in rest["items"]] == ["default"]


def test_an_admin_token_of_a_course_manages_only_that_courses_tokens(client, two_courses):
    a_admin, b_admin = auth(two_courses["a-admin"]), auth(two_courses["b-admin"])
    listed = client.get("/api/v1/tokens", headers=a_admin).json["items"]
    assert {t["name"] for t in listed} == {"lms-a", "admin-a"}
    assert {t["course"] for t in listed} == {"alpha"}
    with client.application.app_context():
        b_id = db.session.scalar(db.select(ApiToken.id).where(ApiToken.name == "lms-b"))
    assert is_problem(
        client.delete(f"/api/v1/tokens/{b_id}", headers=a_admin), 404, "token-not-found"
    )
    assert client.get("/api/v1/scores", headers=auth(two_courses["b"])).status_code == 200
    assert client.delete(f"/api/v1/tokens/{b_id}", headers=b_admin).status_code == 200
    # A new token: in the creator's course; another course named is a 404; every course 403.
    made = client.post("/api/v1/tokens", json={"name": "new"}, headers=a_admin)
    assert made.status_code == 201 and made.json["course"] == "alpha"
    assert made.json["issuer"] == "api:alpha"
    assert is_problem(
        client.post("/api/v1/tokens", json={"name": "x", "course": "beta"}, headers=a_admin),
        404,
        "course-not-found",
    )
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "x", "course": "alpha"}, headers=a_admin
        ).status_code
        == 201
    )
    assert is_problem(
        client.post(
            "/api/v1/tokens",
            json={"name": "x", "scopes": ["admin"], "all_courses": True},
            headers=a_admin,
        ),
        403,
    )


def test_an_all_courses_token_creates_tokens_for_any_course_with_issuer_and_expiry(
    client, two_courses
):
    everything = auth(two_courses["all"])
    made = client.post(
        "/api/v1/tokens",
        json={
            "name": "beta lms",
            "course": "beta",
            "issuer": "https://lms.example.edu",
            "expires_at": "2999-01-01T12:00:00+02:00",
        },
        headers=everything,
    )
    assert made.status_code == 201, made.json
    assert made.json["course"] == "beta"
    assert made.json["issuer"] == "https://lms.example.edu"
    assert made.json["expires_at"] == "2999-01-01T10:00:00Z"
    assert (
        client.get("/api/v1/courses", headers=auth(made.json["token"])).json["items"][0]["slug"]
        == "beta"
    )
    root = client.post(
        "/api/v1/tokens",
        json={"name": "root 2", "scopes": ["admin"], "all_courses": True},
        headers=everything,
    )
    assert root.status_code == 201 and root.json["course"] is None
    for body, kind in (
        ({"name": "x", "all_courses": True}, "invalid-token-request"),  # all courses needs admin
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "invalid-token-request"),
        ({"name": "x", "expires_at": "2999-01-01T00:00:00"}, "invalid-token-request"),  # no offset
        ({"name": "x", "course": "no-such"}, "course-not-found"),
    ):
        response = client.post("/api/v1/tokens", json=body, headers=everything)
        assert response.status_code in (404, 422) and is_problem(
            response, response.status_code, kind
        ), body
    listed = client.get("/api/v1/tokens", headers=everything).json["items"]
    assert {"alpha", "beta", None} <= {t["course"] for t in listed}


def test_old_tokens_keep_working_in_the_default_course(client, imported, make_token):
    token = make_token()
    created = _submit(client, token)
    assert (
        client.get(f"/api/v1/submissions/{created['id']}", headers=auth(token)).status_code == 200
    )
    assert (
        client.get(
            f"/api/v1/courses/default/submissions/{created['id']}", headers=auth(token)
        ).status_code
        == 200
    )
    listed = client.get("/api/v1/exercises", headers=auth(token)).json["items"]
    assert "jacobian-shape" in {e["slug"] for e in listed}
