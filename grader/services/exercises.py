"""Exercise service: importing files as versions, and finding the version to grade against."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from cachetools import LRUCache, cached
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from grader.catalog import LoadedExercise, load_files, load_yaml
from grader.extensions import db
from grader.kinds.spec import ExerciseSpec
from grader.models import Exercise, ExerciseVersion, utcnow


class ExerciseNotFound(LookupError):
    """Raised for a slug that no imported exercise has."""


@dataclass
class ImportReport:
    """What an import did, per slug: created, new version, or unchanged."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_exercises(
    paths: Iterable[str | Path], progress: Callable[[Path], None] | None = None
) -> ImportReport:
    """Validate every file, then write all of them in one transaction.

    Raises ``CatalogError`` (nothing written) when any file is invalid. A file whose content
    differs from its exercise's latest version becomes a new version; an unchanged one does not.
    """
    loaded = load_files(paths, progress)
    report = ImportReport()
    try:
        for item in loaded:
            _store(item, report)
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


def latest_version(exercise: Exercise) -> ExerciseVersion | None:
    """Return the exercise's newest version, or None if it has none."""
    return db.session.scalar(
        select(ExerciseVersion)
        .where(ExerciseVersion.exercise_id == exercise.id)
        .order_by(ExerciseVersion.number.desc())
        .limit(1)
    )


def current_version(slug: str) -> ExerciseVersion:
    """Return the newest version of the exercise ``slug`` (its exercise loaded with it, in one
    query); raise ``ExerciseNotFound``."""
    version = db.session.scalar(
        select(ExerciseVersion)
        .join(ExerciseVersion.exercise)
        .options(contains_eager(ExerciseVersion.exercise))
        .where(Exercise.slug == slug)
        .order_by(ExerciseVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise ExerciseNotFound(f"no exercise {slug!r}")
    return version


def list_current_versions() -> list[ExerciseVersion]:
    """Return the newest version of every exercise, ordered by slug."""
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
    return list(db.session.scalars(query))


@cached(LRUCache(maxsize=256), key=lambda version: (version.id, version.content_hash), lock=Lock())
def spec_of(version: ExerciseVersion) -> ExerciseSpec:
    """Return the validated spec of a stored version (cached: versions never change)."""
    # From the stored YAML, not the JSON column: PostgreSQL's JSONB reorders object keys, and
    # the order of `model:` (each quantity uses those above it) and of `dims:` (the order sizes
    # are drawn in, so a seed's trials) is part of the exercise.
    return ExerciseSpec.model_validate(load_yaml(version.source_yaml))
