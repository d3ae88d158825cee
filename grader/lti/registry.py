"""Platforms registered with the tool: ``grader lti register/list/remove`` and the launch's
look-ups."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from grader.extensions import db
from grader.lti.models import LtiDeployment, LtiRegistration


class RegistrationError(ValueError):
    """A registration that cannot be stored; the message says which value to fix."""


def _check_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistrationError(f"--{name} must be an http(s) URL, not {url!r}")
    return url


def register(
    issuer: str,
    client_id: str,
    deployment_id: str,
    login_url: str,
    token_url: str,
    jwks_url: str,
) -> tuple[LtiRegistration, bool]:
    """Store a platform's registration and deployment; return it and whether the deployment
    is new. A second deployment of a known (issuer, client id) is added to it, and its URLs
    are updated. Raises ``RegistrationError``. Commits."""
    if not issuer.strip() or not client_id.strip() or not deployment_id.strip():
        raise RegistrationError("--issuer, --client-id and --deployment-id must not be empty")
    urls = {
        "login-url": _check_url("login-url", login_url),
        "token-url": _check_url("token-url", token_url),
        "jwks-url": _check_url("jwks-url", jwks_url),
    }
    registration = find_registration(issuer, client_id)
    if registration is None:
        registration = LtiRegistration(issuer=issuer, client_id=client_id)
        db.session.add(registration)
    registration.login_url = urls["login-url"]
    registration.token_url = urls["token-url"]
    registration.jwks_url = urls["jwks-url"]
    new = deployment_id not in {d.deployment_id for d in registration.deployments}
    if new:
        registration.deployments.append(LtiDeployment(deployment_id=deployment_id))
    db.session.commit()
    return registration, new


def registrations() -> list[LtiRegistration]:
    """Return every registration, oldest first, with its deployments."""
    return list(db.session.scalars(select(LtiRegistration).order_by(LtiRegistration.id)))


def find_registration(issuer: str, client_id: str | None = None) -> LtiRegistration | None:
    """Return the registration of ``issuer`` (and ``client_id`` when given; without it, only
    when the issuer has exactly one), or None."""
    query = select(LtiRegistration).where(LtiRegistration.issuer == issuer)
    if client_id is not None:
        query = query.where(LtiRegistration.client_id == client_id)
    found = list(db.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


def remove(issuer: str, client_id: str, deployment_id: str | None = None) -> int:
    """Remove one deployment, or the whole registration when ``deployment_id`` is None; return
    how many deployments went. Raises ``RegistrationError`` when nothing matches. Commits."""
    registration = find_registration(issuer, client_id)
    if registration is None:
        raise RegistrationError(f"no platform {issuer!r} with client id {client_id!r}")
    if deployment_id is None:
        count = len(registration.deployments)
        db.session.delete(registration)
    else:
        matching = [d for d in registration.deployments if d.deployment_id == deployment_id]
        if not matching:
            raise RegistrationError(f"{issuer!r} has no deployment {deployment_id!r}")
        registration.deployments.remove(matching[0])
        count = 1
    db.session.commit()
    return count
