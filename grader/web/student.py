"""Student pages: the exercise list, an exercise with its form, a submission's feedback, and
the student's own history."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from grader.extensions import db
from grader.models import Exercise, ExerciseVersion, Submission
from grader.services.dashboard import best_scores_for_user
from grader.services.exercises import (
    ExerciseNotFound,
    current_version,
    list_current_versions,
    spec_of,
)
from grader.services.grading import AnswersRejected, InvalidAnswers, submit
from grader.services.worked import worked_view
from grader.web.auth import is_instructor, signed_in_user
from grader.web.blueprint import bp
from grader.web.lti import lti_assignment
from grader.web.markdown import answers_mathml
from grader.web.mathlabel import label_math
from grader.web.widgets import answers_from_form, is_blank, widget_for

PER_PAGE = 50


@bp.get("/")
def index() -> ResponseReturnValue:
    """Redirect to the exercise list."""
    return redirect(url_for("web.exercises"))


@bp.get("/exercises")
@login_required
def exercises() -> ResponseReturnValue:
    """List the exercises in the chapter's order (their ``order``, then title) with the
    signed-in user's best score and number of attempts."""
    best = best_scores_for_user(current_user.id)
    rows = []
    specs = [spec_of(version) for version in list_current_versions(("live",))]
    specs.sort(key=lambda s: (s.order is None, s.order or 0, s.title.casefold(), s.slug))
    for spec in specs:
        rows.append(
            {
                "spec": spec,
                "kinds": sorted({p.kind for p in spec.parts}),
                "best": best.get(spec.slug),
            }
        )
    return render_template("exercises.html", rows=rows)


def _public_spec_or_404(slug: str) -> tuple[Any, dict[str, Any]]:
    try:
        version = current_version(slug)
    except ExerciseNotFound:
        abort(404)
    return version, spec_of(version).public()


def visible_submission(submission_id: int) -> Submission:
    """Return the submission if the signed-in user may see it; 404 if none, 403 if not theirs."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    if submission.user_id != current_user.id and not is_instructor(current_user):
        abort(403)
    return submission


def submission_context(row: Submission) -> dict[str, Any]:
    """Return what a submission's page shows: the submission, its version's public spec, the
    part results by id, the answers, the formula answers as MathML and the worked backprop
    (None where the exercise shows none)."""
    spec = spec_of(row.version)
    answers = row.answers or {}
    return {
        "submission": row,
        "spec": spec.public(),
        "results": {p["id"]: p for p in row.parts or []},
        "answers": answers,
        "mathml": {
            part: label_math(mathml) for part, mathml in answers_mathml(spec, answers).items()
        },
        "worked": worked_view(row),
    }


def _render_exercise(
    version: Any,
    public: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    message: str = "",
    status: int = 200,
):
    parts = [
        {
            "part": part,
            "number": number,
            "macro": widget_for(part["kind"]).macro,
            "focus": widget_for(part["kind"]).focus(part),
            "value": values.get(part["id"]),
            "error": errors.get(part["id"], ""),
        }
        for number, part in enumerate(public["parts"], start=1)
    ]
    attempts = db.session.scalar(
        select(func.count(Submission.id)).where(
            Submission.user_id == current_user.id, Submission.exercise_version_id == version.id
        )
    )
    return render_template(
        "exercise.html",
        spec=public,
        version=version,
        parts=parts,
        message=message,
        attempts=attempts,
    ), status


@bp.get("/exercises/<slug>")
@login_required
def exercise(slug: str) -> ResponseReturnValue:
    """Show the prompt and one input per part; ``?from=<id>`` fills in an earlier submission."""
    version, public = _public_spec_or_404(slug)
    values: dict[str, Any] = {}
    earlier = request.args.get("from", type=int)
    if earlier:
        previous = visible_submission(earlier)
        if previous.user_id == current_user.id and previous.version.exercise.slug == slug:
            values = dict(previous.answers or {})
    return _render_exercise(version, public, values, {})


@bp.post("/exercises/<slug>")
@login_required
def submit_answers(slug: str) -> ResponseReturnValue:
    """Grade the form's answers and show the feedback; unreadable answers re-show the form."""
    version, public = _public_spec_or_404(slug)
    values = answers_from_form(request.form, public["parts"])
    answers = {key: value for key, value in values.items() if not is_blank(value)}
    if not answers:
        return _render_exercise(
            version, public, values, {}, "Answer at least one part before submitting.", 422
        )
    try:
        submission, _ = submit(
            slug, signed_in_user(), answers, source="web", assignment=lti_assignment(slug)
        )
    except InvalidAnswers as exc:
        errors = {result.part_id: result.feedback for result in exc.results}
        return _render_exercise(
            version,
            public,
            values,
            errors,
            "Some answers could not be read; nothing was recorded. Fix the marked parts.",
            422,
        )
    except AnswersRejected as exc:
        return _render_exercise(version, public, values, {}, str(exc), 422)
    except ExerciseNotFound:
        abort(404)
    return redirect(url_for("web.submission", submission_id=submission.id), 303)


@bp.get("/submissions/<int:submission_id>")
@login_required
def submission(submission_id: int) -> ResponseReturnValue:
    """Show a submission's score and per-part feedback (the owner's, or any for instructors)."""
    row = visible_submission(submission_id)
    return render_template("submission.html", **submission_context(row), instructor_view=False)


@bp.get("/submissions/<int:submission_id>/status")
@login_required
def submission_status(submission_id: int) -> ResponseReturnValue:
    """Return a submission's status and score as JSON (polled while it is queued)."""
    row = visible_submission(submission_id)
    return jsonify(status=row.status, score=row.score, max_score=row.max_score)


@bp.get("/me")
@login_required
def me() -> ResponseReturnValue:
    """List the signed-in user's submissions, newest first, a page at a time; of one exercise
    when ``?exercise=<slug>`` names one."""
    page = max(request.args.get("page", 1, type=int), 1)
    slug = request.args.get("exercise", "").strip()[:200]
    mine = [Submission.user_id == current_user.id]
    exercise = None
    if slug:
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
        if exercise is None:
            abort(404)
        mine.append(
            Submission.exercise_version_id.in_(
                select(ExerciseVersion.id).where(ExerciseVersion.exercise_id == exercise.id)
            )
        )
    total = db.session.scalar(select(func.count(Submission.id)).where(*mine))
    rows = db.session.scalars(
        select(Submission)
        .where(*mine)
        .options(joinedload(Submission.version).joinedload(ExerciseVersion.exercise))
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return render_template(
        "me.html",
        exercise=exercise,
        submissions=rows,
        page=page,
        pages=max(1, -(-int(total or 0) // PER_PAGE)),
        total=total,
    )
