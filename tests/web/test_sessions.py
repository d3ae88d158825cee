"""A session ends on the server: a copy of the session cookie stops working once its user
signs out or changes the password, on every device."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from grader.extensions import db
from grader.models import User
from tests.web.conftest import PASSWORD, sign_in


def _copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Return a new client holding a copy of ``client``'s session cookie (a stolen cookie)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app, client, users):
    """Signing out only cleared the browser's cookie: a copy of it still opened every page."""
    assert sign_in(client, "student@example.org").status_code == 302
    thief = _copy_of(app, client)
    assert thief.get("/exercises").status_code == 200  # the copy works while signed in
    client.post("/logout")
    assert thief.get("/exercises").status_code == 302  # sent to sign in
    assert thief.get("/me").status_code == 302


def test_signing_out_ends_the_sessions_on_other_devices_too(app, client, users):
    assert sign_in(client, "student@example.org").status_code == 302
    laptop = app.test_client()
    assert sign_in(laptop, "student@example.org").status_code == 302
    client.post("/logout")
    assert laptop.get("/exercises").status_code == 302
    # Signing in again works, with a new session
    assert sign_in(laptop, "student@example.org").status_code == 302
    assert laptop.get("/exercises").status_code == 200


def test_a_copied_cookie_stops_working_after_a_password_change(app, client, users):
    assert sign_in(client, "student@example.org").status_code == 302
    thief = _copy_of(app, client)
    response = client.post(
        "/account/password", data={"current": PASSWORD, "new": "a new passphrase"}
    )
    assert response.status_code == 302
    assert client.get("/exercises").status_code == 200  # this browser stays signed in
    assert thief.get("/exercises").status_code == 302
    assert sign_in(thief, "student@example.org").status_code == 401  # the old password
    assert sign_in(thief, "student@example.org", "a new passphrase").status_code == 302


def test_a_wrong_current_password_changes_nothing(app, client, users):
    assert sign_in(client, "student@example.org").status_code == 302
    thief = _copy_of(app, client)
    response = client.post("/account/password", data={"current": "not it", "new": "whatever123"})
    assert response.status_code == 400 and "not right" in response.get_data(as_text=True)
    short = client.post("/account/password", data={"current": PASSWORD, "new": "short"})
    assert short.status_code == 400
    assert thief.get("/exercises").status_code == 200
    with app.app_context():
        assert db.session.get(User, users["student"]).session_version == 0


def test_a_cookie_without_a_session_version_is_anonymous(app, client, users):
    """Cookies issued before the version existed named only the user id."""
    with client.session_transaction() as session:
        session["_user_id"] = str(users["student"])
        session["_fresh"] = True
    assert client.get("/exercises").status_code == 302
