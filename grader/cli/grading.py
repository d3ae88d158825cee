"""``grader grade``, ``grader regrade`` and ``grader review``: grading from the command line."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from grader.bodies import MAX_JSON_DEPTH, json_depth_exceeds
from grader.cli.common import fail, find_spec, progress


@click.command()
@click.argument("slug")
@click.option("--answers", required=True, help='JSON object, e.g. \'{"shape": "n×m"}\'')
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None)
@with_appcontext
def grade(slug: str, answers: str, seed: int | None) -> None:
    """Grade answers offline (nothing stored) and print the result object as JSON."""
    from grader.services.grading import AnswersRejected, new_seed, offline_result

    if json_depth_exceeds(answers.encode()):  # before anything walks it recursively
        fail(f"--answers is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(answers)
    except json.JSONDecodeError as exc:
        fail(f"--answers is not JSON: {exc}")
    spec = find_spec(slug)
    try:
        result = offline_result(slug, spec, parsed, new_seed() if seed is None else seed)
    except AnswersRejected as exc:
        fail(str(exc))
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@click.command()
@click.argument("slug")
@click.option(
    "--version",
    "version_number",
    type=click.IntRange(1),
    default=None,
    help="Grade against this version (default: the current one).",
)
@with_appcontext
def regrade(slug: str, version_number: int | None) -> None:
    """Re-grade the stored submissions of SLUG with their stored seeds; the old scores are kept
    in the grade history."""
    from grader.services.exercises import ExerciseNotFound
    from grader.services.regrade import RegradeError, count_regradable, regrade_exercise

    try:
        total = count_regradable(slug)
        with progress(total, "Regrading submissions:") as advance:
            report = regrade_exercise(slug, version_number, progress=advance)
    except (ExerciseNotFound, RegradeError) as exc:
        fail(str(exc))
    for line in report.summary_lines():
        click.echo(line)


@click.command()
@click.argument("submission_id", type=int, required=False)
@click.argument("part", required=False)
@click.option("--score", type=float, default=None, help="Points for the part, 0..its maximum.")
@click.option("--feedback", default="", help="What the student is told.")
@click.option(
    "--by",
    "reviewer_email",
    default=None,
    help="Email of the instructor grading (default: the only instructor, if one).",
)
@click.option("--exercise", "slug", default=None, help="List only this exercise's reviews.")
@with_appcontext
def review(
    submission_id: int | None,
    part: str | None,
    score: float | None,
    feedback: str,
    reviewer_email: str | None,
    slug: str | None,
) -> None:
    """Without arguments, list the parts waiting for review; with SUBMISSION_ID PART --score S
    [--feedback TEXT], grade one."""
    from grader.services.review import ReviewError, find_reviewer, grade_review, pending_reviews

    if submission_id is None:
        pending = pending_reviews(slug)
        for item in pending:
            click.echo(
                f"{item.submission_id:>6}  {item.part_id:<16} {item.exercise:<24} "
                f"{item.user:<24} max {item.max_score:g}  {item.excerpt}"
            )
        click.echo(f"{len(pending)} part(s) waiting for review")
        return
    if part is None or score is None:
        fail("To grade a part give SUBMISSION_ID PART --score S [--feedback TEXT].", 2)
    try:
        reviewer = find_reviewer(reviewer_email)
        submission = grade_review(submission_id, part, score, feedback, reviewer)
    except ReviewError as exc:
        fail(str(exc))
    click.echo(
        f"submission {submission.id}: part {part} scored {score:g}; "
        f"total {submission.score:g}/{submission.max_score:g}, {submission.status}"
    )
