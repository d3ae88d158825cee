"""An LTI 1.3 platform for the tests, written by nobody here: Open edX's LTI consumer classes
(``lti_consumer.lti_1p3`` of the ``lti-consumer-xblock`` package, with a minimal Django
settings module) build the launches, sign them, issue access tokens and check the deep
linking responses and the tokens of score posts. This module only serves them over HTTP
(a werkzeug server in a thread) and records what the tool sends.

What the library does not provide without its Django models (the AGS line item and score
views) is served here: a score post is accepted only with a bearer token the library's
``check_token`` validates for the score scope, and its body is checked against the AGS 2.0
score fields.
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import django
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from werkzeug.wrappers import Request, Response

from tests.threaded_server import serve_in_thread

if not settings.configured:
    settings.configure(
        PLATFORM_NAME="Test LMS (Open edX LTI consumer)",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()

# The package's XBlock (imported by its __init__) pulls in WebOb, which imports the ``cgi``
# module deprecated since Python 3.11: not ours to fix, and only this import is excused.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from lti_consumer.data import Lti1p3LaunchData
    from lti_consumer.lti_1p3.consumer import LtiAdvantageConsumer
    from lti_consumer.lti_1p3.key_handlers import PlatformKeyHandler

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
GRADING_PROGRESS = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
ACTIVITY_PROGRESS = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}


def new_pem() -> str:
    """Return a fresh 2048-bit RSA private key as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Platform:
    """The LMS: its URLs, its key, the launch being prepared and what it received."""

    tool: str  # the tool's base URL
    issuer: str = "https://lms.example.org"
    client_id: str = "grader-client"
    deployment_id: str = "deployment-1"
    kid: str = "platform-key-1"
    pem: str = field(default_factory=new_pem)
    base: str = ""
    scores: list[dict[str, Any]] = field(default_factory=list)
    deep_link_items: list[list[dict[str, Any]]] = field(default_factory=list)
    token_requests: int = 0
    jwks_fetches: int = 0
    token_failures: int = 0  # the next N token requests answer 503
    members: list[dict[str, Any]] = field(default_factory=list)
    consumer: LtiAdvantageConsumer | None = None
    launch_data: Lti1p3LaunchData | None = None

    # -- the URLs the tool is registered with
    @property
    def auth_url(self) -> str:
        return self.base + "/auth"

    @property
    def token_url(self) -> str:
        return self.base + "/token"

    @property
    def jwks_url(self) -> str:
        return self.base + "/jwks"

    @property
    def lineitem_url(self) -> str:
        return self.base + "/courses/c1/lineitems/7/lineitem"

    def make_consumer(self, pem: str | None = None, kid: str | None = None) -> LtiAdvantageConsumer:
        """Return a consumer of this platform (another key or kid for the negative tests)."""
        return LtiAdvantageConsumer(
            iss=self.issuer,
            lti_oidc_url=self.tool + "/lti/login",
            lti_launch_url=self.tool + "/lti/launch",
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            rsa_key=pem or self.pem,
            rsa_key_id=kid or self.kid,
            redirect_uris=[self.tool + "/lti/launch"],
            tool_keyset_url=self.tool + "/lti/jwks",
        )

    def prepare_launch(
        self,
        user_id: str = "student-1",
        role: str = "student",
        exercise: str | None = "jacobian-shape",
        deep_linking: bool = False,
        ags: bool = True,
        context_id: str = "course-v1:Test+DL101+2026",
        context_title: str = "Deep Learning 101",
    ) -> str:
        """Set up the next launch; return the tool login URL the LMS would open (preflight)."""
        consumer = self.make_consumer()
        consumer.set_user_data(user_id, role, full_name="Ada Student", email_address=None)
        consumer.set_resource_link_claim("block-v1:Test+DL101+type@lti+block@1")
        consumer.set_context_claim(context_id, context_title=context_title)
        if exercise is not None:
            consumer.set_custom_parameters({"exercise": exercise})
        if ags:
            consumer.enable_ags(self.base + "/courses/c1/lineitems", self.lineitem_url)
        consumer.enable_nrps(self.base + "/courses/c1/memberships")
        if deep_linking:
            consumer.enable_deep_linking(self.tool + "/lti/launch", self.base + "/deep-link-return")
        launch_data = Lti1p3LaunchData(
            user_id=user_id,
            user_role=role,
            config_id="config-1",
            resource_link_id="block-v1:Test+DL101+type@lti+block@1",
            message_type="LtiDeepLinkingRequest" if deep_linking else "LtiResourceLinkRequest",
            context_id=context_id,
            context_title=context_title,
        )
        self.consumer, self.launch_data = consumer, launch_data
        return consumer.prepare_preflight_url(launch_data)

    def launch_form(self, auth_params: dict[str, str]) -> dict[str, str]:
        """Answer the tool's authentication request as the LMS does: ``{state, id_token}``."""
        assert self.consumer is not None, "prepare_launch first"
        return self.consumer.generate_launch_request(dict(auth_params))

    def signed(
        self,
        claims: dict[str, Any],
        pem: str | None = None,
        kid: str | None = None,
        expiration: int | None = 3600,
    ) -> str:
        """Return ``claims`` signed by the platform's key handler (or another key / kid)."""
        return PlatformKeyHandler(pem or self.pem, kid or self.kid).encode_and_sign(
            claims, expiration=expiration
        )

    # -- the HTTP side
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        handler = {
            ("GET", "/jwks"): self._jwks,
            ("GET", "/auth"): self._auth,
            ("POST", "/auth"): self._auth,
            ("POST", "/token"): self._token,
            ("POST", "/courses/c1/lineitems/7/lineitem/scores"): self._score,
            ("GET", "/courses/c1/memberships"): self._memberships,
            ("POST", "/deep-link-return"): self._deep_link_return,
            ("GET", "/course"): self._course_page,
        }.get((request.method, request.path))
        response = handler(request) if handler else Response("not found", 404)
        return response(environ, start_response)

    def _jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        keys = self.make_consumer().get_public_keyset()
        return Response(json.dumps(keys), content_type="application/json")

    def _auth(self, request: Request) -> Response:
        params = dict(request.values.items())
        form = self.launch_form(params)
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in form.items()
        )
        page = (
            "<!doctype html><title>LMS launch</title><body>"
            f'<form id="launch" method="post" action="{html.escape(params["redirect_uri"])}">'
            f"{inputs}</form><script>document.getElementById('launch').submit()</script>"
        )
        return Response(page, content_type="text/html")

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        if self.token_failures > 0:
            self.token_failures -= 1
            return Response("platform down", 503)
        try:
            answer = self.make_consumer().access_token(dict(request.form.items()))
        except Exception as exc:  # the library refused the client assertion
            return Response(json.dumps({"error": str(exc) or type(exc).__name__}), 400)
        return Response(json.dumps(answer), content_type="application/json")

    def _bearer_ok(self, request: Request, scope: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            return bool(self.make_consumer().check_token(header[7:], allowed_scopes=[scope]))
        except Exception:
            return False

    def _score(self, request: Request) -> Response:
        if not self._bearer_ok(request, SCORE_SCOPE):
            return Response("bad token", 401)
        if request.mimetype != SCORE_TYPE:
            return Response("wrong content type", 415)
        body = json.loads(request.get_data())
        problems = check_score(body)
        if problems:
            return Response(json.dumps(problems), 400)
        self.scores.append(body)
        return Response("", 204)

    def _memberships(self, request: Request) -> Response:
        if not self._bearer_ok(request, NRPS_SCOPE):
            return Response("bad token", 401)
        body = {"id": request.url, "context": {"id": "c1"}, "members": self.members}
        return Response(
            json.dumps(body),
            content_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
        )

    def _deep_link_return(self, request: Request) -> Response:
        consumer = self.make_consumer()
        consumer.enable_deep_linking(self.tool + "/lti/launch", self.base + "/deep-link-return")
        items = consumer.check_and_decode_deep_linking_token(request.form["JWT"])
        self.deep_link_items.append(items)
        return Response(
            "<!doctype html><title>Saved</title><p id=saved>Content saved</p>",
            content_type="text/html",
        )

    def _course_page(self, request: Request) -> Response:
        preflight = self.prepare_launch(
            user_id=request.args.get("user", "student-1"),
            role=request.args.get("role", "student"),
            exercise=request.args.get("exercise", "jacobian-shape"),
        )
        page = (
            "<!doctype html><title>LMS course</title><h1>Deep Learning 101</h1>"
            f'<iframe id="tool" title="grader" src="{html.escape(preflight)}" '
            'width="1000" height="800"></iframe>'
        )
        return Response(page, content_type="text/html")


def check_score(body: Any) -> list[str]:
    """Return what is wrong with an AGS 2.0 score (empty: nothing)."""
    problems = []
    if not isinstance(body, dict):
        return ["not an object"]
    for name in ("userId", "activityProgress", "gradingProgress", "timestamp"):
        if name not in body:
            problems.append(f"missing {name}")
    if body.get("gradingProgress") not in GRADING_PROGRESS:
        problems.append("bad gradingProgress")
    if body.get("activityProgress") not in ACTIVITY_PROGRESS:
        problems.append("bad activityProgress")
    if "scoreGiven" in body:
        if not isinstance(body.get("scoreMaximum"), int | float) or body["scoreMaximum"] <= 0:
            problems.append("scoreGiven without a positive scoreMaximum")
        elif not 0 <= body["scoreGiven"] <= body["scoreMaximum"]:
            problems.append("scoreGiven out of range")
    return problems


@contextmanager
def serve(platform: Platform, host: str = "127.0.0.1") -> Iterator[Platform]:
    """Serve ``platform`` on ``host`` (a free port) in a thread while the block runs."""
    with serve_in_thread(platform.wsgi, host) as base_url:
        platform.base = base_url
        yield platform
