"""The OIDC third-party-initiated login and the checks of the launch's id_token.

Every check is ours (DESIGN 11): the signature against the platform's JWKS (cached, fetched
again once when a ``kid`` is unknown), ``iss``, ``aud``/``azp``, ``exp``/``iat`` with a small
leeway, the registered deployment, the ``state`` of this browser's login and its single-use
``nonce``, the message type and the LTI version. A failed check raises ``LaunchRefused`` whose
message is shown to the person and logged; nothing is stored for a refused launch.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import delete, update

from grader.extensions import db
from grader.lti import claims as C
from grader.lti.models import LtiLaunchState, LtiRegistration
from grader.lti.registry import find_registration
from grader.models import utcnow

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 60
STATE_LIFETIME = timedelta(minutes=10)
JWKS_LIFESPAN_SECONDS = 3600.0
JWKS_TIMEOUT_SECONDS = 10.0
MESSAGE_TYPES = (C.RESOURCE_LINK_REQUEST, C.DEEP_LINKING_REQUEST)


class LaunchRefused(Exception):
    """A login or launch the tool refuses; ``str()`` says why in the user's words."""


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser after ``/lti/login``, and the state its cookie must hold."""

    url: str
    state: str


STATE_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
MAX_PARAM = 2000


def start_login(params: dict[str, str]) -> LoginRedirect:
    """Answer a third-party-initiated login: store a fresh state and nonce, return the URL of
    the platform's authentication request. Raises ``LaunchRefused`` for an unknown platform."""
    if any(len(v) > MAX_PARAM or "\x00" in v for v in params.values()):
        raise LaunchRefused("The LMS started the login with a parameter that cannot be right.")
    issuer = params.get("iss", "")
    login_hint = params.get("login_hint", "")
    target = params.get("target_link_uri", "")
    if not issuer or not login_hint or not target:
        raise LaunchRefused("The LMS started the login without iss, login_hint or target_link_uri.")
    registration = find_registration(issuer, params.get("client_id") or None)
    if registration is None:
        raise LaunchRefused(
            f"This tool is not registered with the platform {issuer!r}"
            + (f" (client id {params['client_id']!r})" if params.get("client_id") else "")
            + ". An administrator runs `grader lti register`."
        )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # Logins that never launched, and used states, go once they are too old to launch (a
    # replay then names no login): the table holds the last STATE_LIFETIME of logins, which
    # the login limit per address (``GRADER_LTI_LOGIN_RATE_LIMIT``) bounds.
    db.session.execute(
        delete(LtiLaunchState).where(LtiLaunchState.created_at < utcnow() - STATE_LIFETIME)
    )
    db.session.add(LtiLaunchState(state=state, nonce=nonce, registration_id=registration.id))
    db.session.commit()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.client_id,
        "redirect_uri": target,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in registration.login_url else "?"
    return LoginRedirect(registration.login_url + separator + urlencode(query), state)


_clients: dict[str, jwt.PyJWKClient] = {}
_clients_lock = threading.Lock()


def platform_keys(url: str, cooldown: float) -> jwt.PyJWKClient:
    """Return the (process-wide, caching) JWKS client of a platform's key set URL."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = jwt.PyJWKClient(
                url,
                lifespan=JWKS_LIFESPAN_SECONDS,
                timeout=JWKS_TIMEOUT_SECONDS,
                cooldown_duration=cooldown,
            )
            _clients[url] = client
        return client


def forget_platform_keys() -> None:
    """Drop every cached platform key set (tests, and after a registration changes)."""
    with _clients_lock:
        _clients.clear()


@dataclass(frozen=True)
class VerifiedLaunch:
    """A launch whose every check passed."""

    registration: LtiRegistration
    claims: dict[str, Any]

    @property
    def message_type(self) -> str:
        """Return the LTI message type (resource link or deep linking request)."""
        return str(self.claims[C.MESSAGE_TYPE])


def _unverified(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(id_token)
        body = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused("The launch's id_token is not a readable JWT.") from exc
    return header, body


def _state_row(state: str, cookie_state: str | None) -> LtiLaunchState:
    row = db.session.query(LtiLaunchState).filter_by(state=state).one_or_none()
    if row is None:
        raise LaunchRefused("This launch names a login the tool did not start. Launch again.")
    if row.used_at is not None:
        raise LaunchRefused("This launch was already used (a replay). Launch again from the LMS.")
    # SQLite gives the stored UTC time back without its zone: compare naive UTC times.
    if utcnow().replace(tzinfo=None) - row.created_at.replace(tzinfo=None) > STATE_LIFETIME:
        raise LaunchRefused("The login took too long. Launch again from the LMS.")
    if cookie_state != state:
        raise LaunchRefused(
            "This browser did not start this launch, or it blocks the tool's cookie inside "
            "the LMS. Allow cookies for this site, or open the tool in a new window."
        )
    return row


def _check_audience(body: dict[str, Any], client_id: str) -> None:
    audience = body.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise LaunchRefused(f"The launch was meant for another tool (aud is not {client_id!r}).")
    if (len(audiences) > 1 or "azp" in body) and body.get("azp") != client_id:
        raise LaunchRefused(f"The launch's azp is not this tool's client id {client_id!r}.")


def _verify_signature(
    id_token: str, header: dict[str, Any], registration: LtiRegistration, cooldown: float
) -> dict[str, Any]:
    if header.get("alg") != "RS256":
        raise LaunchRefused("The launch is not signed with RS256.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRefused("The launch's id_token names no key (kid).")
    try:
        key = platform_keys(registration.jwks_url, cooldown).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        raise LaunchRefused(
            "The platform's public keys could not be fetched; try again in a minute."
        ) from exc
    except jwt.PyJWKClientError as exc:
        raise LaunchRefused(
            f"The launch is signed with a key the platform does not publish (kid {kid!r})."
        ) from exc
    try:
        return jwt.decode(
            id_token,
            key,
            algorithms=["RS256"],
            audience=registration.client_id,
            issuer=registration.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise LaunchRefused("The launch has expired. Launch again from the LMS.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise LaunchRefused("The launch is dated in the future; check the clocks.") from exc
    except jwt.InvalidSignatureError as exc:
        raise LaunchRefused("The launch's signature does not match the platform's key.") from exc
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused(f"The launch's id_token was refused: {exc}.") from exc


def _check_message(body: dict[str, Any], registration: LtiRegistration) -> None:
    deployment = body.get(C.DEPLOYMENT_ID)
    if deployment not in {d.deployment_id for d in registration.deployments}:
        raise LaunchRefused(
            f"The deployment {deployment!r} of this platform is not registered with the tool. "
            "An administrator adds it with `grader lti register --deployment-id`."
        )
    if body.get(C.VERSION) != "1.3.0":
        raise LaunchRefused("Only LTI version 1.3.0 launches are accepted.")
    if body.get(C.MESSAGE_TYPE) not in MESSAGE_TYPES:
        raise LaunchRefused(
            f"The tool does not handle the message type {body.get(C.MESSAGE_TYPE)!r}."
        )


def verify_launch(
    id_token: str, state: str, cookie_state: str | None, cooldown: float = 10.0
) -> VerifiedLaunch:
    """Check a launch (``id_token`` and ``state`` posted, ``cookie_state`` from this browser's
    cookie) and use up its state. Raises ``LaunchRefused`` naming the first failed check."""
    if not id_token or not state:
        raise LaunchRefused("The LMS sent the launch without id_token or state.")
    if not STATE_PATTERN.fullmatch(state):
        raise LaunchRefused("This launch names a login the tool did not start. Launch again.")
    row = _state_row(state, cookie_state)
    header, unverified = _unverified(id_token)
    registration = db.session.get(LtiRegistration, row.registration_id)
    assert registration is not None  # the state row's foreign key
    if unverified.get("iss") != registration.issuer:
        raise LaunchRefused("The launch comes from another platform than its login (iss).")
    _check_audience(unverified, registration.client_id)
    body = _verify_signature(id_token, header, registration, cooldown)
    _check_audience(body, registration.client_id)
    if not secrets.compare_digest(str(body.get("nonce", "")), row.nonce):
        raise LaunchRefused("The launch's nonce is not the one of its login.")
    _check_message(body, registration)
    used = db.session.execute(
        update(LtiLaunchState)
        .where(LtiLaunchState.id == row.id, LtiLaunchState.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise LaunchRefused("This launch was already used (a replay). Launch again from the LMS.")
    db.session.commit()
    return VerifiedLaunch(registration, body)
