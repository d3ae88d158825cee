"""Names of the LTI 1.3 claims and messages the tool reads and writes, and the role mapping."""

from __future__ import annotations

from collections.abc import Iterable

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
CONTEXT = LTI + "context"
ROLES = LTI + "roles"
CUSTOM = LTI + "custom"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"

SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
# A context role (full URI, or the short form LTI 1.3 allows) -> the course role it gives.
# Administrator (Open edX gives it to course instructors) and ContentDeveloper teach too.
ROLE_OF = {
    "Instructor": "instructor",
    "Administrator": "instructor",
    "ContentDeveloper": "instructor",
    "TeachingAssistant": "ta",
    "Instructor#TeachingAssistant": "ta",
    "Learner": "student",
    "Mentor": "student",
}
RANK = {"student": 0, "ta": 1, "instructor": 2}


def course_role(roles: Iterable[object]) -> str | None:
    """Return the strongest course role the ``roles`` claim gives (``instructor``, ``ta`` or
    ``student``), or None when it names no context role the tool knows."""
    found: list[str] = []
    for role in roles:
        if not isinstance(role, str):
            continue
        name = role[len(MEMBERSHIP) :] if role.startswith(MEMBERSHIP) else role
        if name in ROLE_OF:
            found.append(ROLE_OF[name])
    return max(found, key=RANK.__getitem__) if found else None
