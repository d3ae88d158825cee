"""Deep Linking: the instructor picks exercises, the tool answers with a signed
``LtiDeepLinkingResponse`` that the browser posts back to the platform."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from grader.extensions import db
from grader.lti import claims as C
from grader.lti.keys import sign
from grader.lti.models import LtiRegistration
from grader.models import EXERCISE_OPEN, Exercise
from grader.services.exercises import current_version, spec_of

RESPONSE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class DeepLinkRequest:
    """What the tool keeps of a deep linking request between the launch and the picker."""

    registration_id: int
    deployment_id: str
    return_url: str
    data: str | None

    @classmethod
    def from_claims(cls, registration_id: int, claims: dict[str, Any]) -> DeepLinkRequest:
        """Return the request a verified ``LtiDeepLinkingRequest`` carries."""
        settings = claims[C.DL_SETTINGS]
        data = settings.get("data")
        return cls(
            registration_id,
            str(claims[C.DEPLOYMENT_ID]),
            str(settings["deep_link_return_url"]),
            data if isinstance(data, str) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the request as a dict (kept in the session)."""
        return self.__dict__.copy()


def pickable_exercises() -> list[Exercise]:
    """Return the exercises an instructor may link: live or hidden, by title."""
    return list(
        db.session.scalars(
            select(Exercise).where(Exercise.status.in_(EXERCISE_OPEN)).order_by(Exercise.title)
        )
    )


def content_item(exercise: Exercise, launch_url: str) -> dict[str, Any]:
    """Return the ``ltiResourceLink`` item of an exercise, with its line item."""
    spec = spec_of(current_version(exercise.slug))
    return {
        "type": "ltiResourceLink",
        "title": exercise.title,
        "url": launch_url,
        "custom": {"exercise": exercise.slug},
        "lineItem": {
            "scoreMaximum": spec.max_score,
            "label": exercise.title,
            "resourceId": exercise.slug,
        },
    }


def response_jwt(request: DeepLinkRequest, slugs: list[str], launch_url: str) -> str:
    """Return the signed ``LtiDeepLinkingResponse`` linking the exercises ``slugs``.

    Raises ``LookupError`` for a slug that is not an open exercise.
    """
    registration = db.session.get(LtiRegistration, request.registration_id)
    if registration is None:
        raise LookupError("the platform was removed meanwhile")
    open_ = {e.slug: e for e in pickable_exercises()}
    missing = [slug for slug in slugs if slug not in open_]
    if missing:
        raise LookupError(f"no open exercise {missing[0]!r}")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": registration.client_id,
        "aud": registration.issuer,
        "iat": now,
        "exp": now + RESPONSE_LIFETIME_SECONDS,
        "nonce": secrets.token_urlsafe(16),
        C.MESSAGE_TYPE: C.DEEP_LINKING_RESPONSE,
        C.VERSION: "1.3.0",
        C.DEPLOYMENT_ID: request.deployment_id,
        C.DL_CONTENT_ITEMS: [content_item(open_[slug], launch_url) for slug in slugs],
    }
    if request.data is not None:
        claims[C.DL_DATA] = request.data
    return sign(claims)
