"""Instructor statistics and lists: score distributions, frequent mistakes, submission lists
and the gradebook. Read-only queries; views render what these return.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import contains_eager

from grader.extensions import db
from grader.kinds.base import PartStatus
from grader.kinds.registry import get_kind
from grader.models import Exercise, ExerciseVersion, Status, Submission, SubmissionPart, User
from grader.services.exercises import list_current_versions, spec_of
from grader.services.policy import CountedScore
from grader.services.scores import counted_by_cell, scored_rows

BUCKETS = 10
TOP_MISTAKES = 5


@dataclass(frozen=True)
class BestScore:
    """One user's counted score on one exercise, how many submissions it took, and its full
    marks (the assignment's points, or the exercise's; None when nothing counted yet)."""

    best: float | None
    attempts: int
    max_score: float | None = None


@dataclass
class PartStats:
    """How a part went across the class: answered, correct, and the frequent diagnoses."""

    part_id: str
    kind: str
    answered: int = 0
    correct: int = 0
    pending: int = 0  # answered, waiting for an instructor's review (neither right nor wrong yet)
    mistakes: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class ExerciseStats:
    """One exercise at a glance: best-score distribution per student and its parts' mistakes."""

    slug: str
    title: str
    version: int
    max_score: float
    submissions: int = 0
    students: int = 0
    needs_review: int = 0
    mean_best: float | None = None
    # distribution[i] = students whose best score is in [i/BUCKETS, (i+1)/BUCKETS) of max
    # (the last bucket includes full marks)
    distribution: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    parts: list[PartStats] = field(default_factory=list)


def best_scores_for_user(user_id: int) -> dict[str, BestScore]:
    """Return the user's counted score (``policy.counted_score``, by each assignment's
    policy) and attempt count per exercise slug (all versions)."""
    query = (
        select(Exercise.id, Exercise.slug, func.count(Submission.id))
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .join(Exercise, ExerciseVersion.exercise_id == Exercise.id)
        .where(Submission.user_id == user_id)
        .group_by(Exercise.id, Exercise.slug)
    )
    counted = counted_by_cell(
        db.session.connection().execute(scored_rows(Submission.user_id == user_id))
    )
    return {
        slug: BestScore(_score(cell), count, None if cell is None else cell.max_score)
        for exercise_id, slug, count in db.session.execute(query)
        for cell in [counted.get((user_id, exercise_id))]
    }


def _score(counted: CountedScore | None) -> float | None:
    return None if counted is None else counted.score


def diagnosis_label(part: Any, diagnosis: str) -> str:
    """Return a diagnosis key (``mistake:0``, ``option:b``, ``transposed``) in words.

    ``part`` is the part's spec (or None when the part is gone from the current version).
    """
    kind, _, rest = diagnosis.partition(":")
    mistakes = get_kind(part.kind).mistake_answers(part) if part is not None else []
    if kind == "mistake" and rest.isdigit() and int(rest) < len(mistakes):
        return f"listed mistake: {mistakes[int(rest)]}"
    if kind == "option":
        return "chose " + ", ".join(rest.split(","))
    if diagnosis == "unanswered":
        return "no answer"
    return diagnosis.replace("-", " ").replace("_", " ").replace(":", ": ")


def _bucket(fraction: float) -> int:
    return min(BUCKETS - 1, max(0, int(fraction * BUCKETS)))


def exercise_stats(version: ExerciseVersion) -> ExerciseStats:
    """Return the statistics of every submission to the exercise of ``version`` (all versions).

    Aggregated in SQL over ``submissions`` and ``submission_parts`` (one row per student, part
    and diagnosis comes back, never the stored JSON). Part statistics are keyed by part id and
    labelled with the current version's spec. A submission without a score yet (queued, or
    waiting for review) does not count in the best scores.
    """
    spec = spec_of(version)
    stats = ExerciseStats(spec.slug, spec.title, version.number, spec.max_score)
    of_exercise = select(ExerciseVersion.id).where(
        ExerciseVersion.exercise_id == version.exercise_id
    )
    in_exercise = Submission.exercise_version_id.in_(of_exercise.scalar_subquery())
    submissions, needs_review = db.session.execute(
        select(
            func.count(Submission.id),
            func.count(case((Submission.status == Status.NEEDS_REVIEW, 1))),
        ).where(in_exercise)
    ).one()
    stats.submissions, stats.needs_review = int(submissions), int(needs_review)
    counted = counted_by_cell(db.session.connection().execute(scored_rows(in_exercise)))
    best = [
        c.score / c.max_score for c in counted.values() if c.score is not None and c.max_score > 0
    ]
    stats.students = len(best)
    for fraction in best:
        stats.distribution[_bucket(fraction)] += 1
    if best:
        stats.mean_best = round(sum(best) / len(best) * spec.max_score, 3)
    joined = select(SubmissionPart.part_id).join(Submission).where(in_exercise)
    answered: dict[str, int] = dict(
        db.session.execute(
            joined.add_columns(func.count())
            .where(SubmissionPart.diagnosis != "unanswered")
            .group_by(SubmissionPart.part_id)
        ).all()
    )
    correct: dict[str, int] = dict(
        db.session.execute(
            joined.add_columns(func.count())
            .where(SubmissionPart.correct.is_(True))
            .group_by(SubmissionPart.part_id)
        ).all()
    )
    pending: dict[str, int] = dict(
        db.session.execute(
            joined.add_columns(func.count())
            .where(SubmissionPart.status == PartStatus.NEEDS_REVIEW)
            .group_by(SubmissionPart.part_id)
        ).all()
    )
    diagnoses: dict[str, Counter[str]] = defaultdict(Counter)
    for part_id, diagnosis, count in db.session.execute(
        joined.add_columns(SubmissionPart.diagnosis, func.count())
        .where(
            SubmissionPart.correct.is_(False),
            SubmissionPart.diagnosis.not_in(("", "unanswered")),
            SubmissionPart.status != PartStatus.NEEDS_REVIEW,
        )
        .group_by(SubmissionPart.part_id, SubmissionPart.diagnosis)
    ):
        diagnoses[part_id][diagnosis] = int(count)
    for part in spec.parts:
        top = diagnoses[part.id].most_common(TOP_MISTAKES)
        stats.parts.append(
            PartStats(
                part.id,
                part.kind,
                int(answered.get(part.id, 0)),
                int(correct.get(part.id, 0)),
                int(pending.get(part.id, 0)),
                [(diagnosis_label(part, key), count) for key, count in top],
            )
        )
    return stats


def class_overview() -> list[ExerciseStats]:
    """Return ``exercise_stats`` for every exercise's current version, ordered by slug."""
    return [exercise_stats(version) for version in list_current_versions()]


@dataclass(frozen=True)
class SubmissionFilter:
    """Filters of the instructor's submission list; empty fields do not filter."""

    user: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _filtered(query: Select, exercise_id: int, filters: SubmissionFilter) -> Select:
    query = query.join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
    query = query.join(User, Submission.user_id == User.id)
    query = query.where(ExerciseVersion.exercise_id == exercise_id)
    if filters.user:
        pattern = f"%{filters.user.lower()}%"
        query = query.where(
            or_(func.lower(User.email).like(pattern), func.lower(User.external_id).like(pattern))
        )
    if filters.status:
        query = query.where(Submission.status == filters.status)
    if filters.date_from:
        start = datetime.combine(filters.date_from, time(), UTC)
        query = query.where(Submission.created_at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(), UTC)
        query = query.where(Submission.created_at < end)
    return query


def list_submissions(
    exercise: Exercise, filters: SubmissionFilter, page: int = 1, per_page: int = 50
) -> tuple[list[Submission], int]:
    """Return one page of the exercise's submissions, newest first, and the total matching."""
    total = db.session.scalar(_filtered(select(func.count(Submission.id)), exercise.id, filters))
    query = _filtered(select(Submission), exercise.id, filters)
    query = query.options(contains_eager(Submission.user), contains_eager(Submission.version))
    query = query.order_by(Submission.created_at.desc(), Submission.id.desc())
    query = query.offset((max(page, 1) - 1) * per_page).limit(per_page)
    return list(db.session.scalars(query)), int(total or 0)


@dataclass(frozen=True)
class GradebookRow:
    """Best score of one user on one exercise."""

    email: str
    external_id: str
    exercise: str
    best_score: float | None
    max_score: float
    submissions: int
    last_submitted: datetime | None


def gradebook() -> list[GradebookRow]:
    """Return the counted score per user and exercise (``policy.counted_score``), ordered by
    user then exercise."""
    query = (
        select(
            User.id,
            Exercise.id,
            User.email,
            User.external_id,
            Exercise.slug,
            func.max(Submission.max_score),
            func.count(Submission.id),
            func.max(Submission.created_at),
        )
        .join(User, Submission.user_id == User.id)
        .join(ExerciseVersion, Submission.exercise_version_id == ExerciseVersion.id)
        .join(Exercise, ExerciseVersion.exercise_id == Exercise.id)
        .group_by(User.id, Exercise.id, User.email, User.external_id, Exercise.slug)
        .order_by(User.email, User.external_id, Exercise.slug)
    )
    counted = counted_by_cell(db.session.connection().execute(scored_rows()))
    rows = []
    for user_id, exercise_id, email, external, slug, max_score, count, last in db.session.execute(
        query
    ):
        cell = counted.get((user_id, exercise_id))
        full = cell.max_score if cell is not None else float(max_score or 0)
        rows.append(
            GradebookRow(email or "", external or "", slug, _score(cell), full, count, last)
        )
    return rows
