"""Request and response schemas of the REST API.

The same pydantic models validate requests, check responses and generate the OpenAPI document
(``grader.api.openapi``), so the document cannot drift from what the server does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from grader.services.grading import MAX_ANSWER_CHARS

LMS_USER_PATTERN = r"^[\w.@:+-]{1,200}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # no control characters (PostgreSQL refuses NUL)
PART_ID = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
MAX_PAGE = 500

# A time in a response: ISO 8601 in UTC with a Z (grader.services.scores.iso).
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
PartStatus = Literal["graded", "needs_review", "queued", "error"]
SubmissionStatus = Literal["queued", "graded", "error", "needs_review"]
PartKind = Literal["shape", "choice", "formula", "memory", "graph", "text", "code"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    """A response body. The test suite refuses a field the model does not declare (so the
    document cannot drift), but the document does not promise that: new response fields may
    be added in any version (``grader.api.openapi`` drops ``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------- problems


class Problem(BaseModel):
    """An RFC 9457 problem: ``type`` is a stable URI to branch on, ``detail`` is for people."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Machine-readable problem type (a URI); branch on this")
    title: str
    status: int
    detail: str | None = None


# ---------------------------------------------------------------------- pagination


class Links(_Response):
    """Links of a page: this page and, while there are more, the next one."""

    self: str
    next: str | None = Field(None, description="URL of the next page; null on the last page")


class ChangeLinks(Links):
    """Links of a page of a change-ordered list (``updated_since``): ``resume`` continues after
    this page later, on the last page too."""

    resume: str = Field(
        description="URL that lists what changes after this page: keep it and call it on the "
        "next sync (it skips nothing and repeats only what changed again)"
    )


class PageQuery(_Request):
    """Cursor pagination: pass ``links.next`` of a page to read the next one."""

    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Items per page")
    cursor: str | None = Field(None, max_length=200, description="Opaque; from links.next")


# ---------------------------------------------------------------------- exercises


class PartSummary(_Response):
    """A part in the exercise list."""

    id: str = Field(pattern=PART_ID)
    kind: PartKind
    points: float


class ExerciseSummary(_Response):
    """One exercise in the list."""

    slug: str = Field(pattern=SLUG_PATTERN)
    title: str
    version: int
    parts: list[PartSummary]
    max_score: float


class ExercisePage(_Response):
    """A page of exercises, ordered by slug."""

    items: list[ExerciseSummary]
    links: Links


class _PublicPart(BaseModel):
    """What every part shows: its id, prompt and points; each kind adds its own fields."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=PART_ID, description="The key of its answer in answers")
    prompt: str = Field(description="Markdown with $...$ math")
    points: float


class ShapePart(_PublicPart):
    """Answer: a shape as a string, e.g. "n×m" or "R^{n x m}"."""

    kind: Literal["shape"]
    sizes: list[str] | None = Field(None, description="The size names the answer may use")


class ChoiceOption(BaseModel):
    """One option of a choice part."""

    model_config = ConfigDict(extra="allow")

    id: str
    text: str


class ChoicePart(_PublicPart):
    """Answer: a list of option ids (one, unless multiple)."""

    kind: Literal["choice"]
    options: list[ChoiceOption]
    multiple: bool = False


class FormulaPart(_PublicPart):
    """Answer: a formula as a string, in the chapter's notation."""

    kind: Literal["formula"]
    allow: list[str] | None = Field(None, description="The names the formula may use")


class MemoryPart(_PublicPart):
    """Answer: a count as a formula of the sizes, as a string (e.g. "2hn + q")."""

    kind: Literal["memory"]
    measure: str | None = None


class GraphPart(_PublicPart):
    """Answer: a graph object {"nodes", "edges"} or an edge-list string."""

    kind: Literal["graph"]
    vocabulary: dict[str, Any] | None = Field(None, description="Names the editor offers")


class TextPart(_PublicPart):
    """Answer: free text, graded by an instructor (status needs_review until then)."""

    kind: Literal["text"]
    min_length: int | None = None
    max_length: int | None = None


class CodePart(_PublicPart):
    """Answer: Python source defining ``entry``; graded in the background (202, queued)."""

    kind: Literal["code"]
    entry: str | None = None
    parameters: list[str] | None = None
    outputs: list[str] | None = None
    starter: str | None = None


PublicPart = Annotated[
    ShapePart | ChoicePart | FormulaPart | MemoryPart | GraphPart | TextPart | CodePart,
    Field(discriminator="kind"),
]


class ExerciseDetail(BaseModel):
    """The public spec of an exercise: prompts, sizes, variables and parts, never answers."""

    model_config = ConfigDict(extra="allow")

    slug: str = Field(pattern=SLUG_PATTERN)
    title: str
    version: int
    prompt: str
    dims: dict[str, list[int]]
    variables: dict[str, dict[str, Any]]
    functions: dict[str, list[str]]
    parts: list[PublicPart] = Field(
        description="Each part: id, kind, prompt, points and the fields of its kind"
    )
    max_score: float


# ---------------------------------------------------------------------- submissions


Answer = (
    Annotated[str, Field(max_length=MAX_ANSWER_CHARS)]
    | list[Annotated[str, Field(max_length=200)]]
    | dict[str, Any]
    | None
)


class SubmissionRequest(_Request):
    """A submission on behalf of an LMS user."""

    user: str = Field(
        pattern=LMS_USER_PATTERN, description="The LMS user id (created on first use)"
    )
    answers: dict[Annotated[str, Field(pattern=PART_ID)], Answer] = Field(
        description="Part id -> answer: a string (formula, shape, memory, code, text), a list "
        "of option ids (choice), or a graph object / edge-list string (graph). Each answer is "
        f"at most {MAX_ANSWER_CHARS:,} characters (a list or object: as compact JSON). A part "
        "left out scores zero.",
        json_schema_extra={"propertyNames": {"pattern": PART_ID}},
    )


class PartOutcome(_Response):
    """The grade of one part."""

    id: str
    score: float | None
    max_score: float | None
    correct: bool | None
    feedback: str | None
    status: PartStatus | None = Field(None, description="graded, needs_review, queued or error")


class Result(_Response):
    """The result object of a submission (DESIGN section 9)."""

    id: int
    exercise: str
    version: int
    user: str
    status: SubmissionStatus
    score: float | None
    max_score: float
    seed: int
    parts: list[PartOutcome]
    created_at: Timestamp | None = Field(description="ISO 8601, UTC")
    graded_at: Timestamp | None = Field(description="ISO 8601, UTC; null while queued")
    updated_at: Timestamp = Field(
        description="ISO 8601, UTC: the last change of grade or status (graded, reviewed, "
        "regraded, failed); never goes back"
    )


# ---------------------------------------------------------------------- preview


class PreviewRequest(_Request):
    """An answer to render before submitting it."""

    part: str = Field(pattern=PART_ID, description="A part id of the exercise")
    answer: Any = Field(description="The answer as it would be submitted")


class PreviewError(_Response):
    """Why the answer cannot be read, and where (1-based column)."""

    message: str
    column: int | None = None


class Preview(_Response):
    """How the server reads an answer: its canonical form and renderings, or the error."""

    part: str
    kind: str
    valid: bool
    source: str | None = Field(None, description="Canonical form that parses back the same")
    latex: str | None = None
    mathml: str | None = None
    shape: list[str] | None = Field(None, description="Shape parts: the axes as read")
    error: PreviewError | None = None
    problem: PreviewError | None = Field(
        None,
        description="The answer reads but cannot be right: its sizes do not fit together, or "
        "its result has another shape than the part's (the grader's message)",
    )


# ---------------------------------------------------------------------- scores


class ScoresQuery(_Request):
    """Filters of the gradebook: by exercise, user and submission date; paging; format."""

    exercise: str | None = Field(None, pattern=SLUG_PATTERN, description="Exercise slug")
    user: str | None = Field(None, pattern=LMS_USER_PATTERN, description="LMS user id")
    since: datetime | None = Field(None, description="Submissions at or after (ISO 8601)")
    until: datetime | None = Field(None, description="Submissions before (ISO 8601)")
    updated_since: datetime | None = Field(
        None,
        description="Rows changed at or after (ISO 8601), in the order of their changes, "
        "with links.resume to sync again later",
    )
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=200)
    format: Literal["json", "csv"] | None = Field(
        None, description="csv: the whole filtered gradebook as CSV (or send Accept: text/csv)"
    )


class ScoreExportQuery(_Request):
    """Filters of the gradebook's CSV export (the same as the JSON list's)."""

    exercise: str | None = Field(None, pattern=SLUG_PATTERN, description="Exercise slug")
    user: str | None = Field(None, pattern=LMS_USER_PATTERN, description="LMS user id")
    since: datetime | None = Field(None, description="Submissions at or after (ISO 8601)")
    until: datetime | None = Field(None, description="Submissions before (ISO 8601)")
    updated_since: datetime | None = Field(
        None, description="Only rows changed at or after (ISO 8601)"
    )


class ScoreRow(_Response):
    """The best score of one user on one exercise."""

    user: str
    exercise: str
    best_score: float | None = Field(
        description="The highest score among the graded submissions; null while every counted "
        "submission still waits for an instructor's review"
    )
    max_score: float
    submissions: int
    pending_review: int = Field(
        0, description="How many of the counted submissions wait for review (no score yet)"
    )
    last_submission_at: Timestamp
    updated_at: Timestamp = Field(
        description="ISO 8601, UTC: the last change of grade or status of a submission that "
        "counts here"
    )


class ScoreLinks(Links):
    """Links of a page of the gradebook; ``resume`` only in change order (``updated_since``)."""

    resume: str | None = Field(
        None,
        description="With updated_since: URL that lists what changes after this page; keep it "
        "for the next sync. null otherwise",
    )


class ScorePage(_Response):
    """A page of best scores, ordered by user and exercise (with ``updated_since``: in the
    order of their last change)."""

    items: list[ScoreRow]
    links: ScoreLinks


# ---------------------------------------------------------------------- changes


class SubmissionsQuery(_Request):
    """Which submissions to list, in the order of their last change."""

    updated_since: datetime | None = Field(
        None, description="Submissions whose grade or status changed at or after (ISO 8601)"
    )
    exercise: str | None = Field(None, pattern=SLUG_PATTERN, description="Exercise slug")
    user: str | None = Field(None, pattern=LMS_USER_PATTERN, description="LMS user id")
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Items per page")
    cursor: str | None = Field(None, max_length=200, description="Opaque; from links.next")


class SubmissionPage(_Response):
    """A page of result objects in the order of their last change, oldest first."""

    items: list[Result]
    links: ChangeLinks


# ---------------------------------------------------------------------- tokens


Scope = Literal["submit", "read:scores", "admin"]


def _default_scopes() -> list[Scope]:
    return ["submit", "read:scores"]


class TokenCreate(_Request):
    """A token to create."""

    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    scopes: list[Scope] = Field(default_factory=_default_scopes, min_length=1)
    course: str | None = Field(
        None,
        pattern=SLUG_PATTERN,
        description="The course the new token reaches (default: the creating token's course). "
        "Only a token that reaches every course may name another course than its own.",
    )
    all_courses: bool = Field(
        False,
        description="Reach every course (needs the admin scope, and a creating token that "
        "reaches every course).",
    )
    issuer: str | None = Field(
        None,
        min_length=1,
        max_length=300,
        pattern=PRINTABLE,
        description="Identity provider of the users the token names (default api:<course>); "
        "give a new token of the same LMS the old one's issuer so its users stay the same.",
    )
    expires_at: datetime | None = Field(
        None, description="When the token stops working (ISO 8601 with an offset, future)"
    )


class TokenInfo(_Response):
    """A token as stored: never the secret."""

    id: int
    name: str
    scopes: list[Scope]
    course: str | None = Field(description="The course it reaches; null: every course")
    issuer: str
    created_at: Timestamp | None
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None


class TokenCreated(TokenInfo):
    """A new token, with its secret: shown this once, never again."""

    token: str


class TokenPage(_Response):
    """A page of tokens, newest first."""

    items: list[TokenInfo]
    links: Links


# ---------------------------------------------------------------------- courses


class CourseInfo(_Response):
    """A course the token reaches; its routes are under /api/v1/courses/{slug}/."""

    slug: str
    title: str
    term: str | None
    time_zone: str = Field(description="IANA name; times are stored in UTC, shown in this zone")


class CoursePage(_Response):
    """The courses the token reaches, by slug."""

    items: list[CourseInfo]
    links: Links


# ---------------------------------------------------------------------- webhooks


EventType = Literal[
    "submission.queued", "submission.graded", "submission.error", "submission.needs_review"
]
DeliveryState = Literal["pending", "delivered", "failed"]
WEBHOOK_URL_PATTERN = r"^https?://[^\s/?#@]+(/[^\s#]*)?$"


class WebhookCreate(_Request):
    """A webhook to make: where to POST, and which events."""

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=WEBHOOK_URL_PATTERN,
        description="http(s) URL of the receiver. Private, loopback and link-local addresses "
        "are refused unless the server allows them (GRADER_WEBHOOK_ALLOW_PRIVATE).",
    )
    events: list[EventType] | None = Field(
        None,
        min_length=1,
        max_length=4,
        description="Event types to receive (default: all); the type is submission.<status>",
    )


class WebhookInfo(_Response):
    """A webhook of a course: never its secret."""

    id: int
    course: str
    url: str
    events: list[EventType]
    active: bool
    created_at: Timestamp


class WebhookCreated(WebhookInfo):
    """A new webhook, with the secret that signs its deliveries: shown this once."""

    secret: str = Field(description="Verify Grader-Signature with it (docs/lms-integration.md)")


class WebhookPage(_Response):
    """A page of webhooks, oldest first."""

    items: list[WebhookInfo]
    links: Links


class Delivery(_Response):
    """One event of a webhook and the outcome of its delivery so far."""

    event_id: str = Field(description="The Grader-Event-Id receivers de-duplicate by")
    event_type: EventType
    submission_id: int
    change_seq: int
    state: DeliveryState = Field(
        description="pending (to send, or to retry at next_attempt_at), delivered (a 2xx), "
        "failed (given up after a day, or a URL the server refuses to call)"
    )
    attempts: int
    last_status: int | None = Field(description="The receiver's HTTP status at the last attempt")
    last_error: str | None
    last_attempt_at: Timestamp | None
    next_attempt_at: Timestamp | None = Field(description="null unless pending")
    delivered_at: Timestamp | None
    created_at: Timestamp
    payload: dict[str, Any] = Field(description="The body sent (and signed)")


class DeliveryPage(_Response):
    """A page of a webhook's deliveries, newest change first."""

    items: list[Delivery]
    links: Links


def response_models() -> frozenset[str]:
    """Return the names of the response models (their components in the document)."""
    found, todo = set(), [_Response]
    while todo:
        model = todo.pop()
        for sub in model.__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return frozenset(found)
