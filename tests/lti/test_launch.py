"""Launches from the Open edX platform: accepted ones sign the user in on the exercise, in a
session that works inside the LMS's iframe; refused ones show why and store nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from grader.extensions import db
from grader.lti.models import LtiContext, LtiGradeLink, LtiLaunchState
from grader.lti.oidc import STATE_LIFETIME
from grader.models import Assignment, User, utcnow
from tests.lti.conftest import launch, login_step
from tests.lti.platform import new_pem


def count_users(app) -> int:
    """Return how many users a platform made (users of other issuers are not counted)."""
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)).where(User.issuer.is_not(None)))


def test_a_student_launch_lands_on_the_exercise_signed_in(app, client, platform):
    response = launch(client, platform)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == "/exercises/jacobian-shape"
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie
    page = client.get("/exercises/jacobian-shape")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" not in csp and platform.base in csp
    assert "X-Frame-Options" not in page.headers
    with app.app_context():
        user = db.session.scalars(select(User).where(User.issuer == platform.issuer)).one()
        assert user.external_id == "student-1"
        context = db.session.scalars(select(LtiContext)).one()
        assert context.title == context.course.title == "Deep Learning 101"
        assert context.memberships_url == platform.base + "/courses/c1/memberships"
        [enrolment] = context.course.enrolments
        assert (enrolment.user_id, enrolment.role) == (user.id, "student")
        link = db.session.scalars(select(LtiGradeLink)).one()
        assert link.lineitem_url == platform.lineitem_url and link.subject == "student-1"
        assignment = db.session.get(Assignment, link.assignment_id)
        assert assignment.course_id == context.course_id
        assert assignment.exercise.slug == "jacobian-shape"


def test_the_stand_alone_site_keeps_lax_cookies_and_refuses_framing(client, platform):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    client.post("/login", data={"email": "x@example.org", "password": "wrong"})
    cookie = client.get("/login").headers.get("Set-Cookie", "SameSite=Lax")
    assert "SameSite=None" not in cookie and "Partitioned" not in cookie


def test_the_platform_keys_are_fetched_once_and_cached(client, platform):
    assert launch(client, platform).status_code == 302
    assert launch(client, platform, user_id="student-2").status_code == 302
    assert platform.jwks_fetches == 1


def test_a_rotated_platform_key_is_fetched_again_once(client, platform):
    assert launch(client, platform).status_code == 302
    platform.pem, platform.kid = new_pem(), "platform-key-2"
    assert launch(client, platform, user_id="student-2").status_code == 302
    assert platform.jwks_fetches == 2


# -- refusals: a clear page, a log line, no user ------------------------------------------------


def refused(response, words: str) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert "The LMS launch was refused" in text and words in text, text
    assert "frame-ancestors 'none'" not in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers  # which would contradict it


def tampered(client, platform, change=None, pem=None, kid=None, expiration=3600, **kwargs):
    """Run a launch whose id_token the platform re-signs after ``change(claims)``."""
    import jwt

    auth = login_step(client, platform.prepare_launch(**kwargs))
    form = platform.launch_form(auth)
    claims = jwt.decode(form["id_token"], options={"verify_signature": False})
    if change:
        change(claims)
    form["id_token"] = platform.signed(claims, pem=pem, kid=kid, expiration=expiration)
    return client.post("/lti/launch", data=form)


def test_a_bad_signature_is_refused(app, client, platform, caplog):
    response = tampered(client, platform, pem=new_pem())  # same kid, another key
    refused(response, "signature does not match")
    assert count_users(app) == 0
    assert any("LTI refused" in r.getMessage() for r in caplog.records)


def test_an_unknown_kid_is_refused_after_one_refetch(app, client, platform):
    response = tampered(client, platform, pem=new_pem(), kid="nobody-knows-me")
    refused(response, "key the platform does not publish")
    assert platform.jwks_fetches == 2  # the cached set, then one fetch for the unknown kid
    assert count_users(app) == 0


def test_a_wrong_audience_is_refused(app, client, platform):
    response = tampered(client, platform, lambda c: c.update(aud="another-tool", azp="x"))
    refused(response, "meant for another tool")
    assert count_users(app) == 0


def test_an_expired_token_is_refused(app, client, platform):
    def expire(claims):
        claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)

    response = tampered(client, platform, expire, expiration=None)
    refused(response, "expired")
    assert count_users(app) == 0


def test_a_replayed_launch_is_refused(app, client, platform):
    auth = login_step(client, platform.prepare_launch())
    form = platform.launch_form(auth)
    assert client.post("/lti/launch", data=form).status_code == 302
    refused(client.post("/lti/launch", data=form), "already used")


def test_a_replayed_nonce_with_a_new_login_is_refused(app, client, platform):
    auth = login_step(client, platform.prepare_launch())
    first = platform.launch_form(auth)
    assert client.post("/lti/launch", data=first).status_code == 302
    second_auth = login_step(client, platform.prepare_launch())
    form = {"state": second_auth["state"], "id_token": first["id_token"]}
    refused(client.post("/lti/launch", data=form), "nonce")


def test_an_unknown_deployment_is_refused(app, client, platform):
    platform.deployment_id = "deployment-unknown"
    refused(launch(client, platform), "deployment-unknown")
    assert count_users(app) == 0


def test_a_link_without_the_custom_exercise_is_refused(app, client, platform):
    refused(launch(client, platform, exercise=None), "names no exercise")
    assert count_users(app) == 0


def test_a_launch_without_the_state_cookie_is_refused(app, client, platform):
    auth = login_step(client, platform.prepare_launch())
    client.delete_cookie(f"lti_state_{auth['state'][:16]}", path="/lti/")
    refused(client.post("/lti/launch", data=platform.launch_form(auth)), "cookie")
    assert count_users(app) == 0


def test_a_login_from_an_unregistered_platform_is_refused(client, platform):
    response = client.get("/lti/login?iss=https://evil.example&login_hint=x&target_link_uri=y")
    refused(response, "not registered")


def test_an_address_over_the_login_limit_is_refused_in_the_frame(app, client, platform):
    app.config["GRADER_LTI_LOGIN_RATE_LIMIT"] = "2 per minute"
    preflight = urlsplit(platform.prepare_launch())
    login = preflight.path + "?" + preflight.query
    assert [client.get(login).status_code for _ in range(2)] == [302, 302]
    response = client.get(login)
    assert response.status_code == 429
    assert "Too many logins" in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # the window's end
    # shown inside the LMS's iframe, like every LTI refusal
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors 'none'" not in response.headers["Content-Security-Policy"]
    with app.app_context():
        assert db.session.scalar(select(func.count(LtiLaunchState.id))) == 2  # none written


def test_logins_too_old_to_launch_are_deleted(app, client, platform):
    first = login_step(client, platform.prepare_launch())
    with app.app_context():
        db.session.execute(
            update(LtiLaunchState).values(
                created_at=utcnow() - STATE_LIFETIME - timedelta(seconds=1)
            )
        )
        db.session.commit()
    login_step(client, platform.prepare_launch())
    with app.app_context():
        states = db.session.scalars(select(LtiLaunchState.state)).all()
    assert first["state"] not in states and len(states) == 1


def test_hostile_logins_get_a_page_not_a_500(client, platform):
    for query in ("iss=\x00&login_hint=x&target_link_uri=y", "iss=" + "a" * 5000 + "&login_hint=x"):
        assert client.get("/lti/login?" + query).status_code == 400


def test_hostile_launch_posts_get_a_page_not_a_500(client, platform):
    for form in (
        {},
        {"state": "x"},
        {"state": "x", "id_token": "not.a.jwt"},
        {"state": "\x00" * 5000, "id_token": "a" * 100_000},
    ):
        response = client.post("/lti/launch", data=form)
        assert response.status_code == 400


def test_an_instructor_and_a_second_student_join_the_same_course(app, client, platform):
    assert launch(client, platform).status_code == 302
    assert launch(client, platform, user_id="teacher-9", role="instructor").status_code == 302
    with app.app_context():
        [context] = db.session.scalars(select(LtiContext))
        roles = sorted((e.user.external_id, e.role) for e in context.course.enrolments)
    assert roles == [("student-1", "student"), ("teacher-9", "instructor")]


def test_nul_characters_in_the_platform_s_claims_are_not_a_500(app, client, platform):
    def poison(claims):
        claims["https://purl.imsglobal.org/spec/lti/claim/context"]["title"] = "DL\x00101"
        claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = {"exercise": "jac\x00"}

    refused(tampered(client, platform, poison), "names no exercise")
    assert count_users(app) == 0


def test_a_deep_linking_request_without_a_return_url_is_refused(app, client, platform):
    def strip(claims):
        del claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"][
            "deep_link_return_url"
        ]

    response = tampered(client, platform, strip, role="instructor", deep_linking=True)
    refused(response, "deep_link_return_url")
