"""Signing in and out, anonymous redirects, CSRF, rate limit and security headers."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import PASSWORD, sign_in

PROTECTED = [
    "/exercises",
    "/exercises/jacobian-shape",
    "/me",
    "/submissions/1",
    "/instructor",
    "/instructor/exercises/jacobian-shape/submissions",
    "/instructor/submissions/1",
    "/instructor/gradebook.csv",
    "/instructor/import",
]


def test_login_page_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">' in page and '<label for="password">' in page
    assert 'name="csrf_token"' in page


def test_sign_in_and_out(client, users):
    response = sign_in(client, "Student@Example.org")
    assert response.status_code == 302 and response.headers["Location"].endswith("/exercises")
    assert "student@example.org" in client.get("/exercises").get_data(as_text=True)
    assert client.get("/logout").status_code == 200  # a confirmation page, not a sign-out
    assert client.get("/exercises").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/exercises").status_code == 302


@pytest.mark.parametrize(
    "email,password",
    [
        ("student@example.org", "wrong password"),
        ("nobody@example.org", PASSWORD),
        ("", ""),
        ("x" * 5000, "y"),
    ],
)
def test_failed_sign_in_says_the_same_whoever_asks(client, users, email, password):
    response = sign_in(client, email, password)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "The email or the password is not right." in page
    assert client.get("/exercises").status_code == 302


def test_sign_in_goes_to_a_local_next_only(client, users):
    ok = client.post(
        "/login", data={"email": "student@example.org", "password": PASSWORD, "next": "/me"}
    )
    assert ok.headers["Location"].endswith("/me")
    client.post("/logout")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            "/login", data={"email": "student@example.org", "password": PASSWORD, "next": target}
        )
        assert response.headers["Location"].endswith("/exercises"), target
        client.post("/logout")


@pytest.mark.parametrize("path", PROTECTED)
def test_anonymous_visitors_are_sent_to_sign_in(client, imported, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_sign_in_form_keeps_next_from_the_redirect(client, users):
    location = client.get("/me").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert 'name="next" value="/me"' in page


def test_login_is_rate_limited(app, client, users):
    app.config["GRADER_LOGIN_RATE_LIMIT"] = "3 per minute"
    codes = [sign_in(client, "student@example.org", "wrong").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    response = sign_in(client, "student@example.org")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(app, client, users):
    app.config["WTF_CSRF_ENABLED"] = True
    response = sign_in(client, "student@example.org")
    assert response.status_code == 400
    assert "expired or came from another site" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": "student@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    # signed in, a form post and a preview fetch without the token are refused too
    answer = client.post("/exercises/jacobian-shape", data={"answer-shape": "n×m"})
    assert answer.status_code == 400
    preview = client.post(
        "/exercises/jacobian-shape/preview", json={"part": "shape", "answer": "x"}
    )
    assert preview.status_code == 400
    token = re.search(
        r'name="csrf-token" content="([^"]+)"',
        client.get("/exercises/jacobian-shape").get_data(as_text=True),
    ).group(1)
    preview = client.post(
        "/exercises/jacobian-shape/preview",
        headers={"X-CSRFToken": token},
        json={"part": "shape", "answer": "x"},
    )
    assert preview.status_code == 200


def test_security_headers_on_pages_and_assets(client, users):
    for path in ("/login", "/assets/style.css", "/assets/app.js"):
        response = client.get(path)
        headers = response.headers
        response.close()
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_http_only_and_same_site(client, users):
    response = sign_in(client, "student@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signed_in_pages_are_not_cached(student):
    assert student.get("/exercises").headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_handlers_in_templates():
    from pathlib import Path

    import grader.web

    folder = Path(grader.web.__file__).parent / "templates"
    for template in folder.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "style=" not in text and "<style" not in text, template
        assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text


def test_unknown_page_and_index(student):
    assert student.get("/").headers["Location"].endswith("/exercises")
    assert student.get("/exercises/no-such-thing").status_code == 404
    assert "There is no such page" in student.get("/submissions/999").get_data(as_text=True)
