"""The Kind protocol: what every exercise kind provides, and the result types it returns.

A kind is one module under ``grader/kinds``. It declares a pydantic model for its part spec
(``part_model``, with ``kind: Literal["<name>"]``), checks a part against the whole exercise when
the YAML is loaded, and grades an answer. Kinds never see a Flask request and never touch the
database: the grading service owns transactions.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from grader.kinds.spec import ExerciseSpec

PART_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class PartStatus(StrEnum):
    """Result status of one part. ``invalid`` answers (a parse error, an unknown name) cost no
    attempt and are never stored; the others are stored in ``submission_parts.status``."""

    GRADED = "graded"
    INVALID = "invalid"
    NEEDS_REVIEW = "needs_review"
    QUEUED = "queued"
    ERROR = "error"


GRADED, INVALID, NEEDS_REVIEW, QUEUED, ERROR = (
    PartStatus.GRADED,
    PartStatus.INVALID,
    PartStatus.NEEDS_REVIEW,
    PartStatus.QUEUED,
    PartStatus.ERROR,
)


class PartSpec(BaseModel):
    """Fields every part has, whatever its kind."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PART_ID_PATTERN, description="Part id, unique in the exercise")
    kind: str
    prompt: str = Field("", description="Markdown with $math$, shown above the answer field")
    points: float = Field(1.0, gt=0, le=1000, description="Full marks for this part")


class MistakeText(BaseModel):
    """What a listed mistake tells the student: the full feedback, and the author's hint for
    an assignment's ``hints`` level (``authored_hint``). Each kind's mistake adds its answer."""

    model_config = ConfigDict(extra="forbid")

    feedback: str = Field(min_length=1, max_length=2000)
    hint: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="What an assignment's `hints` level shows for this mistake: name the "
        "mistake, never the expected answer (default: a sentence of the kind's)",
    )


class Mistake(MistakeText):
    """An anticipated wrong answer (a formula, a shape, a count) and what to tell the student
    who gives it."""

    answer: str = Field(min_length=1, max_length=2000)


# What no storage takes: NUL (PostgreSQL text and jsonb) and lone surrogates (not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """Return ``value`` with every string in it (dict keys too, at any depth) made storable.

    A NUL or a lone surrogate, which a student's code can print or raise, becomes U+FFFD: no
    database, JSON encoder or terminal refuses the result. Other values are returned as they are.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value


@dataclass(frozen=True)
class PartResult:
    """The grade of one part: what the student sees, plus a machine-readable diagnosis.

    ``diagnosis`` is a short stable key (``correct``, ``transposed``, ``mistake:2`` ...) that the
    instructor dashboard counts to show the most frequent mistakes.
    """

    part_id: str
    score: float
    max_score: float
    correct: bool
    feedback: str
    status: str = GRADED
    diagnosis: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict (the ``parts`` entries of the result object).

        This is where every feedback leaves a kind for storage or display: its text is made
        ``storable`` here, once for all kinds.
        """
        return {
            "id": self.part_id,
            "score": self.score,
            "max_score": self.max_score,
            "correct": self.correct,
            "feedback": storable(self.feedback),
            "status": self.status,
            "diagnosis": storable(self.diagnosis),
            "details": storable(copy.deepcopy(self.details)) if self.details else {},
        }

    @classmethod
    def invalid(cls, part: PartSpec, feedback: str, diagnosis: str = "invalid") -> PartResult:
        """Return a result for input that could not be read; it scores nothing and costs nothing."""
        return cls(part.id, 0.0, part.points, False, feedback, INVALID, diagnosis)


@dataclass(frozen=True)
class SelfTestCase:
    """An answer the exercise's own self-test grades, with the verdict it must get."""

    answer: Any
    correct: bool
    feedback: str | None = None  # expected substring of the feedback, if any
    label: str = ""


@dataclass
class GradingContext:
    """What a kind may read while grading one submission: the exercise, the seed, a cache.

    The seed fixes every random choice, so a regrade reproduces the result. ``cache`` lets the
    parts of one submission share expensive work (trial instances, reference values).
    """

    exercise: ExerciseSpec
    seed: int
    cache: dict[str, Any] = field(default_factory=dict)

    def rng(self, *salt: str | int) -> np.random.Generator:
        """Return a generator determined by the seed and ``salt`` (independent streams)."""
        material = repr((self.seed, *salt)).encode()
        digest = hashlib.sha256(material).digest()
        return np.random.default_rng(int.from_bytes(digest[:16], "little"))


@runtime_checkable
class Kind(Protocol):
    """One exercise kind: a part spec model, load-time checks, grading and a self-test.

    Everything the services, the web pages and the API use of a kind is declared here; they
    call it, never probe for it. ``KindBase`` gives the defaults, and a test checks every
    registered kind against this protocol (members and signatures). ``part`` is always an
    instance of the kind's own ``part_model``.
    """

    name: ClassVar[str]
    part_model: ClassVar[type[PartSpec]]
    # Part fields that never leave the server (references, keys, mistakes).
    private_fields: ClassVar[frozenset[str]]
    # True when grading may take long enough to go through the task queue (code).
    deferred: ClassVar[bool]
    # True when ``preview`` reads a text answer live (formula, memory, shape).
    previews: ClassVar[bool]

    def check(self, part: Any, exercise: ExerciseSpec) -> list[tuple[tuple[str | int, ...], str]]:
        """Return problems with ``part`` in the context of the whole exercise.

        Each problem is (location inside the part, message in an instructor's words).
        """
        ...

    def grade(self, part: Any, answer: Any, ctx: GradingContext) -> PartResult:
        """Grade ``answer`` (JSON-decoded) and return the result; never raise on bad input."""
        ...

    def self_test_cases(self, part: Any, exercise: ExerciseSpec) -> list[SelfTestCase]:
        """Return the answers the self-test must grade as stated (reference, mistakes)."""
        ...

    def precheck(self, part: Any, answer: Any) -> PartResult | None:
        """Return an ``invalid`` result for an answer that cannot be graded at all, cheaply
        (used before a deferred part is queued), or None."""
        ...

    def public(self, part: Any, exercise: ExerciseSpec | None = None) -> dict[str, Any]:
        """Return the part as students and API clients may see it: no private fields.
        ``exercise`` is the part's exercise (the graph kind sends the editor its names)."""
        ...

    def preview(self, part: Any, answer: str, exercise: ExerciseSpec) -> dict[str, Any]:
        """Return how the server reads the text ``answer`` (``{"valid": ...}`` plus the
        reading or the error); only called when ``previews`` is true."""
        ...

    def mistake_answers(self, part: Any) -> list[str]:
        """Return the anticipated wrong answers listed in ``part``, in order (the dashboard
        names diagnosis ``mistake:<i>`` after the i-th)."""
        ...

    def rubric(self, part: Any) -> str | None:
        """Return what an instructor grades a reviewed answer against, or None."""
        ...

    def hint(self, part: Any, result: Mapping[str, Any]) -> str:
        """Return the feedback of the ``hints`` level for a stored result of ``part`` (a
        ``PartResult.to_dict``): it names the mistake from the result's diagnosis, and never
        states an expected value (a reference answer, value, shape, count or key)."""
        ...


class KindBase:
    """Defaults shared by the kinds: no extra checks, no self-test cases, graded in-process,
    no preview, no listed mistakes, no rubric."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"answer", "mistakes"})
    deferred: ClassVar[bool] = False
    previews: ClassVar[bool] = False

    def check(self, part: Any, exercise: ExerciseSpec) -> list[tuple[tuple[str | int, ...], str]]:
        """Return no problems: the part model's own validation suffices."""
        return []

    def self_test_cases(self, part: Any, exercise: ExerciseSpec) -> list[SelfTestCase]:
        """Return no cases."""
        return []

    def precheck(self, part: Any, answer: Any) -> PartResult | None:
        """Return an ``invalid`` result for an answer that cannot be graded at all, cheaply
        (used before a deferred part is queued), or None. Default: nothing to check."""
        return None

    def public(self, part: Any, exercise: ExerciseSpec | None = None) -> dict[str, Any]:
        """Return the part as students may see it: without its private fields. ``exercise``
        (the part's exercise) lets a kind add what its answer widget needs from it."""
        return part.model_dump(mode="json", exclude=set(self.private_fields))

    def preview(self, part: Any, answer: str, exercise: ExerciseSpec) -> dict[str, Any]:
        """Raise ``NotImplementedError``: this kind has no preview (``previews`` is false)."""
        raise NotImplementedError(f"a {part.kind} part has no preview")

    def mistake_answers(self, part: Any) -> list[str]:
        """Return no mistakes."""
        return []

    def rubric(self, part: Any) -> str | None:
        """Return None: answers of this kind are graded automatically."""
        return None

    def hint(self, part: Any, result: Mapping[str, Any]) -> str:
        """Return the hint of ``result``: the kind's words for its diagnosis
        (``hint_for_diagnosis``), else a verdict that states nothing about the answer."""
        diagnosis = str(result.get("diagnosis") or "")
        found = self.hint_for_diagnosis(part, diagnosis)
        return found if found is not None else generic_hint(result)

    def hint_for_diagnosis(self, part: Any, diagnosis: str) -> str | None:
        """Return the hint for a diagnosis key of this kind, or None (then a generic verdict).
        Kinds override it; no text returned may state an expected value."""
        return None


def authored_hint(mistakes: Sequence[MistakeText], diagnosis: str) -> str | None:
    """Return the author's hint of the listed mistake a diagnosis ``mistake:<i>`` names, or
    None (another diagnosis, or the mistake has no ``hint``)."""
    key, _, rest = diagnosis.partition(":")
    if key == "mistake" and rest.isdigit() and int(rest) < len(mistakes):
        return mistakes[int(rest)].hint
    return None


_SPACE = re.compile(r"\s+")


def hint_problems(
    mistakes: Sequence[MistakeText], answers: Sequence[str | None]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Return a problem for each listed mistake whose ``hint`` writes out one of the part's
    ``answers`` (the reference, the students'-notation answer), spaces aside: hints are shown
    where the answer must not be. Answers under three characters are not looked for."""
    written = [_SPACE.sub("", a) for a in answers if a]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, mistake in enumerate(mistakes):
        hint = _SPACE.sub("", mistake.hint or "")
        if any(len(answer) >= 3 and answer in hint for answer in written):
            problems.append(
                (("mistakes", index, "hint"), "the hint states the answer; name the mistake only")
            )
    return problems


LISTED_MISTAKE_HINT = (
    "This is one of the mistakes this exercise anticipates: go through this step of the "
    "derivation again."
)


def generic_hint(result: Mapping[str, Any]) -> str:
    """Return a hint that says only what the score and status say (any kind, any diagnosis)."""
    status = result.get("status")
    diagnosis = str(result.get("diagnosis") or "")
    if diagnosis == "unanswered":
        return "No answer."
    if status == ERROR:
        return str(result.get("feedback") or "This part could not be graded.")
    if status == NEEDS_REVIEW:
        return "Waiting for an instructor's review."
    if status == QUEUED:
        return "Queued for grading."
    if result.get("correct"):
        return "Correct."
    if diagnosis.startswith("mistake:"):
        return LISTED_MISTAKE_HINT
    if result.get("score"):
        return "Partly correct."
    return "Not correct."
