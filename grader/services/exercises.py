"""Exercise service: importing files as versions, and finding the version to grade against."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from cachetools import LRUCache, cached
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager

from grader.catalog import CatalogError, LoadedExercise, SpecIssue, load_yaml, read_files
from grader.extensions import db
from grader.kinds.spec import ExerciseSpec
from grader.models import (
    EXERCISE_OPEN,
    EXERCISE_STATUSES,
    Assignment,
    Course,
    Exercise,
    ExerciseVersion,
    utcnow,
)
from grader.selftest import ExerciseReport, selftest_spec
from grader.services.courses import default_course, ensure_assignment


class ExerciseNotFound(LookupError):
    """Raised for a slug that no imported exercise has (or, for students, a closed one)."""


class SelfTestFailed(ValueError):
    """Raised by an import whose exercises fail their own self-test; nothing was written.
    ``reports`` holds the failing exercises' reports, ``issues`` each failed check located in
    its file (part, line)."""

    def __init__(self, reports: list[ExerciseReport], issues: list[SpecIssue]) -> None:
        super().__init__(f"{len(reports)} exercise(s) fail their self-test")
        self.reports = reports
        self.issues = issues


@dataclass
class ImportReport:
    """What an import did, per slug: created, new version, or unchanged; and which exercises
    were set to draft because their self-test failed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    failed: list[ExerciseReport] = field(default_factory=list)


def import_exercises(
    paths: Iterable[str | Path],
    progress: Callable[[Path], None] | None = None,
    *,
    selftest: bool = False,
    failing_as_draft: bool = False,
) -> ImportReport:
    """Validate every file, then write all of them in one transaction.

    Raises ``CatalogError`` (nothing written) when any file is invalid, listing every problem
    of every file (and, with ``selftest``, the self-test failures of the valid ones). A file
    whose content differs from its exercise's latest version becomes a new version; an
    unchanged one does not. With ``selftest``, each exercise's self-test runs first: when one
    fails, ``SelfTestFailed`` is raised (nothing written), or with ``failing_as_draft`` the
    import goes ahead and those exercises are set to ``draft``, so students do not see them.
    """
    loaded, issues = read_files(paths, progress)
    report = ImportReport()
    failed_issues: list[SpecIssue] = []
    if selftest:
        for item in loaded:
            result = selftest_spec(item.spec, item.path)
            if result.failures:
                report.failed.append(result)
                failed_issues += result.issues(item.spec, item.source)
    if issues:
        raise CatalogError(issues + failed_issues)
    if report.failed and not failing_as_draft:
        raise SelfTestFailed(report.failed, failed_issues)
    try:
        for item in loaded:
            _store(item, report)
        for result in report.failed:
            _exercise(result.slug).status = "draft"
            report.drafts.append(result.slug)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _store(item: LoadedExercise, report: ImportReport) -> None:
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == item.spec.slug))
    if exercise is None:
        exercise = Exercise(slug=item.spec.slug, title=item.spec.title)
        db.session.add(exercise)
        db.session.flush()
        ensure_assignment(default_course(), exercise)  # the catalogue course lists everything
        report.created.append(item.spec.slug)
        number = 1
    else:
        latest = latest_version(exercise)
        if latest is not None and latest.content_hash == item.content_hash:
            report.unchanged.append(item.spec.slug)
            return
        number = (latest.number if latest else 0) + 1
        exercise.title = item.spec.title
        exercise.updated_at = utcnow()
        report.updated.append(item.spec.slug)
    db.session.add(
        ExerciseVersion(
            exercise_id=exercise.id,
            number=number,
            spec=item.spec.model_dump(mode="json"),
            source_yaml=item.source,
            content_hash=item.content_hash,
        )
    )
    db.session.flush()


def _exercise(slug: str) -> Exercise:
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if exercise is None:
        raise ExerciseNotFound(f"no exercise {slug!r}")
    return exercise


def set_status(slug: str, status: str) -> Exercise:
    """Set an exercise's status (live, hidden, draft, retired) and commit; raise ``ValueError``
    for another status and ``ExerciseNotFound`` for an unknown slug."""
    if status not in EXERCISE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(EXERCISE_STATUSES)}")
    exercise = _exercise(slug)
    exercise.status = status
    exercise.updated_at = utcnow()
    db.session.commit()
    return exercise


def latest_version(exercise: Exercise) -> ExerciseVersion | None:
    """Return the exercise's newest version, or None if it has none."""
    return db.session.scalar(
        select(ExerciseVersion)
        .where(ExerciseVersion.exercise_id == exercise.id)
        .order_by(ExerciseVersion.number.desc())
        .limit(1)
    )


def current_version(slug: str, *, closed: bool = False) -> ExerciseVersion:
    """Return the newest version of the exercise ``slug`` (its exercise loaded with it, in one
    query); raise ``ExerciseNotFound``, also for a draft or retired exercise unless ``closed``
    (instructors' pages)."""
    return _found(slug, db.session.scalar(NEWEST_VERSION, {"slug": slug}), closed)


def assigned_version(course: Course, slug: str) -> tuple[ExerciseVersion, Assignment | None]:
    """Return the current version of the exercise ``slug`` (as ``current_version``) and its
    assignment in ``course`` (None when the course does not assign it), in one query."""
    row = db.session.execute(ASSIGNED_VERSION, {"slug": slug, "course": course.id}).first()
    return _found(slug, None if row is None else row[0], False), None if row is None else row[1]


# Read by every submission, built once (their construction is a share of the request;
# SQLAlchemy caches what they compile to either way): values go in as bound parameters.
NEWEST_VERSION = (
    select(ExerciseVersion)
    .join(ExerciseVersion.exercise)
    .options(contains_eager(ExerciseVersion.exercise))
    .where(Exercise.slug == bindparam("slug"))
    .order_by(ExerciseVersion.number.desc())
    .limit(1)
)
ASSIGNED_VERSION = NEWEST_VERSION.add_columns(Assignment).outerjoin(
    Assignment,
    (Assignment.exercise_id == Exercise.id) & (Assignment.course_id == bindparam("course")),
)


def _found(slug: str, version: ExerciseVersion | None, closed: bool) -> ExerciseVersion:
    if version is None:
        raise ExerciseNotFound(f"no exercise {slug!r}")
    if not closed and version.exercise.status not in EXERCISE_OPEN:
        raise ExerciseNotFound(f"exercise {slug!r} is {version.exercise.status}")
    return version


def list_current_versions(statuses: Iterable[str] | None = None) -> list[ExerciseVersion]:
    """Return the newest version of every exercise (of those with one of ``statuses`` if
    given), ordered by slug."""
    newest = (
        select(ExerciseVersion.exercise_id, func.max(ExerciseVersion.number).label("number"))
        .group_by(ExerciseVersion.exercise_id)
        .subquery()
    )
    query = (
        select(ExerciseVersion)
        .join(
            newest,
            (newest.c.exercise_id == ExerciseVersion.exercise_id)
            & (newest.c.number == ExerciseVersion.number),
        )
        .join(Exercise)
        .order_by(Exercise.slug)
    )
    if statuses is not None:
        query = query.where(Exercise.status.in_(list(statuses)))
    return list(db.session.scalars(query))


@cached(LRUCache(maxsize=256), key=lambda version: (version.id, version.content_hash), lock=Lock())
def spec_of(version: ExerciseVersion) -> ExerciseSpec:
    """Return the validated spec of a stored version (cached: versions never change)."""
    # From the stored YAML, not the JSON column: PostgreSQL's JSONB reorders object keys, and
    # the order of `model:` (each quantity uses those above it) and of `dims:` (the order sizes
    # are drawn in, so a seed's trials) is part of the exercise.
    return ExerciseSpec.model_validate(load_yaml(version.source_yaml))
