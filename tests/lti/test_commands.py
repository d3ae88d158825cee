"""`grader lti ...`: registering platforms, listing and removing them, rotating the tool's
keys (the old one stays published), and the instructor's LTI page."""

from __future__ import annotations

import json

import jwt

from grader.lti.keys import GRACE, jwks, sign
from grader.services.users import create_user
from tests.lti.conftest import launch

REGISTER = [
    "lti", "register", "--issuer", "https://canvas.instructure.com", "--client-id", "10000000042",
    "--deployment-id", "7:abc", "--login-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "--token-url", "https://sso.canvaslms.com/login/oauth2/token",
    "--jwks-url", "https://sso.canvaslms.com/api/lti/security/jwks",
]  # fmt: skip


def test_register_prints_the_tool_urls_and_allows_more_deployments(runner):
    first = runner.invoke(args=REGISTER)
    assert first.exit_code == 0, first.output
    for path in ("/lti/login", "/lti/launch", "/lti/jwks"):
        assert path in first.output
    again = runner.invoke(args=REGISTER[:6] + ["--deployment-id", "8:def"] + REGISTER[8:])
    assert again.exit_code == 0 and "registered" in again.output
    listed = runner.invoke(args=["lti", "list"])
    assert "7:abc, 8:def" in listed.output and "10000000042" in listed.output
    removed = runner.invoke(
        args=["lti", "remove", "--issuer", "https://canvas.instructure.com",
              "--client-id", "10000000042", "--deployment-id", "7:abc"]
    )  # fmt: skip
    assert removed.exit_code == 0, removed.output
    assert "7:abc" not in runner.invoke(args=["lti", "list"]).output
    whole = runner.invoke(
        args=["lti", "remove", "--issuer", "https://canvas.instructure.com",
              "--client-id", "10000000042"]
    )  # fmt: skip
    assert whole.exit_code == 0
    assert "No platform is registered" in runner.invoke(args=["lti", "list"]).output


def test_register_refuses_a_url_that_is_not_http(runner):
    bad = REGISTER[:-1] + ["file:///etc/passwd"]
    result = runner.invoke(args=bad)
    assert result.exit_code == 1 and "--jwks-url must be an http(s) URL" in result.output
    missing = runner.invoke(args=["lti", "remove", "--issuer", "x", "--client-id", "y"])
    assert missing.exit_code == 1 and "Nothing removed" in missing.output


def test_keys_are_made_on_first_use_and_rotation_keeps_the_old_one_published(app, client, runner):
    first = client.get("/lti/jwks").get_json()
    assert [k["kty"] for k in first["keys"]] == ["RSA"] and "d" not in first["keys"][0]
    assert client.get("/lti/jwks").get_json() == first  # stored, not made again
    old_kid = first["keys"][0]["kid"]
    with app.app_context():
        old_token = sign({"sub": "x"})
    result = runner.invoke(args=["lti", "keys", "rotate"])
    assert result.exit_code == 0 and f"Retired {old_kid}" in result.output
    rotated = client.get("/lti/jwks").get_json()
    kids = [k["kid"] for k in rotated["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid
    with app.app_context():
        new_token = sign({"sub": "x"})
    assert jwt.get_unverified_header(new_token)["kid"] == kids[0]
    keyset = jwt.PyJWKSet.from_json(json.dumps(rotated))
    for token in (old_token, new_token):  # both verify against the published set
        kid = jwt.get_unverified_header(token)["kid"]
        jwt.decode(token, keyset[kid].key, algorithms=["RS256"])


def test_a_key_retired_longer_than_the_grace_period_is_no_longer_published(app, runner):
    from grader.extensions import db
    from grader.lti.models import LtiKey
    from grader.models import utcnow

    with app.app_context():
        jwks()
        runner.invoke(args=["lti", "keys", "rotate"])
        for key in db.session.query(LtiKey).filter(LtiKey.retired_at.is_not(None)):
            key.retired_at = utcnow() - GRACE * 2
        db.session.commit()
        assert len(jwks()["keys"]) == 1


def test_the_instructor_page_lists_platforms_courses_and_passbacks(app, client, platform):
    assert launch(client, platform).status_code == 302
    client.post("/exercises/jacobian-shape", data={"answer-shape": "n×m"})
    with app.app_context():
        create_user("teacher@example.org", "instructor", "correct horse battery")
    client.post("/logout")
    client.post(
        "/login", data={"email": "teacher@example.org", "password": "correct horse battery"}
    )
    page = client.get("/instructor/lti").get_data(as_text=True)
    assert platform.issuer in page and "Deep Learning 101" in page
    assert "/lti/jwks" in page and "sent" in page
    retry = client.post("/instructor/lti/passbacks/retry")
    assert retry.status_code == 302
    report = client.get(retry.headers["Location"]).get_data(as_text=True)
    assert "0 failed or unsent passbacks resent: 0 sent, 0 still failing." in report
    assert client.post("/instructor/lti/contexts/999/roster").status_code == 404


def test_students_may_not_see_the_lti_page(client, platform):
    assert launch(client, platform).status_code == 302
    assert client.get("/instructor/lti").status_code == 403
