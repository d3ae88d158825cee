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
from grader.models import Assignment, Exercise, ExerciseVersion, FeedbackLevel, Submission, utcnow
from grader.services.access import (
    assigned_exercise_ids,
    assignment_of_user,
    enrolled_course_or_404,
    require_submission,
)
from grader.services.courses import next_attempt
from grader.services.dashboard import best_scores_for_user
from grader.services.drawings import marked_drawings
from grader.services.exercises import (
    ExerciseNotFound,
    current_version,
    list_current_versions,
    spec_of,
)
from grader.services.grading import AnswersRejected, InvalidAnswers, submit
from grader.services.policy import (
    SubmissionRefused,
    feedback_level,
    policy_summary,
    student_parts,
)
from grader.services.worked import worked_view
from grader.web.auth import signed_in_user
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
    """List the exercises assigned in the signed-in user's courses, in the chapter's order
    (their ``order``, then title), with the user's best score and number of attempts."""
    best = best_scores_for_user(current_user.id)
    rows = []
    assigned = assigned_exercise_ids(signed_in_user())
    specs = [
        spec_of(version)
        for version in list_current_versions(("live",))
        if version.exercise_id in assigned
    ]
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


def _assignment_or_404(slug: str) -> Assignment:
    """Return the assignment of ``slug`` the signed-in user works on: in the course named by
    ``?course=<slug>`` (one they are enrolled in), else the course an LTI launch of this
    session came from, else the first of their courses that assigns it. ``NoAccess`` (a 404
    page) when none does."""
    user = signed_in_user()
    launched = lti_assignment(slug) if not request.args.get("course") else None
    if launched is not None:
        return launched
    course_slug = request.args.get("course")
    course = enrolled_course_or_404(user, course_slug[:100]) if course_slug else None
    return assignment_of_user(user, slug, course)


def _public_spec_or_404(slug: str) -> tuple[Any, dict[str, Any]]:
    try:
        version = current_version(slug)
    except ExerciseNotFound:
        abort(404)
    return version, spec_of(version).public()


def visible_submission(submission_id: int) -> Submission:
    """Return the submission if the signed-in user may see it: their own, or one made in a
    course they teach (``services.access.can_see_submission``); a 404 page otherwise."""
    return require_submission(signed_in_user(), db.session.get(Submission, submission_id))


def submission_context(row: Submission, level: str = FeedbackLevel.FULL) -> dict[str, Any]:
    """Return what a submission's page shows: the submission, its version's public spec, the
    part results by id at feedback ``level`` (instructors: full; the student: the
    assignment's), the answers, the formula answers as MathML, the graph answers marked
    against the reference (which marks show depends on ``level``) and the worked backprop
    (None where the exercise shows none, and below the full level: it shows the expected
    values)."""
    spec = spec_of(row.version)
    answers = row.answers or {}
    results = {p["id"]: p for p in row.parts or []}
    return {
        "submission": row,
        "spec": spec.public(),
        "results": {p["id"]: p for p in student_parts(row.parts or [], level, spec)},
        "feedback_level": str(level),
        "answers": answers,
        "drawings": marked_drawings(spec, results, answers),
        # which graph marks show (graphsvg): the level this viewer reads at
        "feedback": str(level),
        "mathml": {
            part: label_math(mathml) for part, mathml in answers_mathml(spec, answers).items()
        },
        "worked": worked_view(row) if level == FeedbackLevel.FULL else None,
    }


def _render_exercise(
    assignment: Assignment,
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
    used = next_attempt(assignment, signed_in_user()) - 1
    policy = policy_summary(assignment, assignment.course.time_zone, used, utcnow())
    return render_template(
        "exercise.html",
        spec=public,
        version=version,
        parts=parts,
        message=message,
        attempts=attempts,
        policy=policy,
    ), status


@bp.get("/exercises/<slug>")
@login_required
def exercise(slug: str) -> ResponseReturnValue:
    """Show the prompt and one input per part; ``?from=<id>`` fills in an earlier submission.
    A 404 page for an exercise not assigned in any of the user's courses."""
    assignment = _assignment_or_404(slug)
    version, public = _public_spec_or_404(slug)
    values: dict[str, Any] = {}
    earlier = request.args.get("from", type=int)
    if earlier:
        previous = visible_submission(earlier)
        if previous.user_id == current_user.id and previous.version.exercise.slug == slug:
            values = dict(previous.answers or {})
    return _render_exercise(assignment, version, public, values, {})


@bp.post("/exercises/<slug>")
@login_required
def submit_answers(slug: str) -> ResponseReturnValue:
    """Grade the form's answers and show the feedback; unreadable answers re-show the form.
    The submission counts in the assignment of one of the user's courses (404 if none)."""
    assignment = _assignment_or_404(slug)
    version, public = _public_spec_or_404(slug)
    values = answers_from_form(request.form, public["parts"])
    answers = {key: value for key, value in values.items() if not is_blank(value)}
    if not answers:
        return _render_exercise(
            assignment,
            version,
            public,
            values,
            {},
            "Answer at least one part before submitting.",
            422,
        )
    try:
        submission, _ = submit(slug, signed_in_user(), answers, source="web", assignment=assignment)
    except InvalidAnswers as exc:
        errors = {result.part_id: result.feedback for result in exc.results}
        return _render_exercise(
            assignment,
            version,
            public,
            values,
            errors,
            "Some answers could not be read; nothing was recorded. Fix the marked parts.",
            422,
        )
    except AnswersRejected as exc:
        return _render_exercise(assignment, version, public, values, {}, str(exc), 422)
    except SubmissionRefused as exc:
        return _render_exercise(assignment, version, public, values, {}, str(exc), 409)
    except ExerciseNotFound:
        abort(404)
    return redirect(url_for("web.submission", submission_id=submission.id), 303)


@bp.get("/submissions/<int:submission_id>")
@login_required
def submission(submission_id: int) -> ResponseReturnValue:
    """Show a submission's score and per-part feedback: to its owner at the assignment's
    feedback level, in full to the course's staff (the only others who may see it)."""
    row = visible_submission(submission_id)
    own = row.user_id == current_user.id
    level = feedback_level(row.assignment) if own else FeedbackLevel.FULL
    return render_template(
        "submission.html", **submission_context(row, level), instructor_view=False
    )


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
