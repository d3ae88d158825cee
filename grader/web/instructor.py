"""Instructor pages: the class dashboard, submission lists and details, grading parts that
need review, the gradebook as CSV, and importing exercise files."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from grader.catalog import CatalogError, SpecIssue
from grader.extensions import db
from grader.kinds.registry import get_kind
from grader.models import EXERCISE_STATUSES, SUBMISSION_STATUSES, Course, Exercise, Submission
from grader.services.access import require_manager, require_submission, submission_course_id
from grader.services.courses import default_course
from grader.services.dashboard import (
    SubmissionFilter,
    class_overview,
    gradebook,
    list_submissions,
)
from grader.services.exercises import (
    ExerciseNotFound,
    SelfTestFailed,
    import_exercises,
    set_status,
    spec_of,
)
from grader.services.review import ReviewError, grade_review, pending_reviews, reviewable
from grader.services.scores import csv_safe
from grader.web.auth import (
    course_staff_required,
    instructor_required,
    is_instructor,
    signed_in_user,
)
from grader.web.blueprint import bp
from grader.web.charts import bar_list, histogram
from grader.web.courses import staff_course
from grader.web.student import submission_context

PER_PAGE = 50
MAX_IMPORT_FILES = 50
F = TypeVar("F", bound=Callable[..., Any])


def default_course_staff(view: F) -> F:
    """Let through instructors (site role) who teach the course ``default`` (instructor or TA
    there) and site admins: these pages show the catalogue and every exercise's submissions,
    which is that course's business. Others: 403 for students, a 404 page for instructors of
    other courses (who use their courses' pages)."""

    @wraps(view)
    @instructor_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require_manager(signed_in_user(), default_course())
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.get("/instructor")
@default_course_staff
def dashboard() -> ResponseReturnValue:
    """Show, per exercise, the best-score distribution and each part's frequent mistakes."""
    cards = []
    for stats in class_overview():
        cards.append(
            {
                "stats": stats,
                "histogram": histogram(
                    stats.distribution, f"Best scores of {stats.students} students on {stats.title}"
                ),
                "parts": [
                    (part, bar_list(part.mistakes, f"Frequent mistakes in part {part.part_id}"))
                    for part in stats.parts
                ],
            }
        )
    statuses = {
        slug: status for slug, status in db.session.execute(select(Exercise.slug, Exercise.status))
    }
    return render_template(
        "instructor/dashboard.html",
        cards=cards,
        statuses=statuses,
        exercise_statuses=EXERCISE_STATUSES,
    )


STATUS_WORDS = {
    "live": "live: listed and open to students",
    "hidden": "hidden: not listed, open to whoever has the link",
    "draft": "draft: only instructors see it",
    "retired": "retired: closed to new submissions, results kept",
}


@bp.post("/instructor/exercises/<slug>/status")
@default_course_staff
def exercise_status(slug: str) -> ResponseReturnValue:
    """Set an exercise live, hidden, draft or retired; back to the dashboard."""
    status = request.form.get("status", "")
    try:
        set_status(slug, status)
    except ExerciseNotFound:
        abort(404)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("web.dashboard") + f"#exercise-{slug}", 303)
    flash(f"{slug} is now {STATUS_WORDS[status]}.", "info")
    return redirect(url_for("web.dashboard") + f"#exercise-{slug}", 303)


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/instructor/exercises/<slug>/submissions")
@default_course_staff
def exercise_submissions(slug: str) -> ResponseReturnValue:
    """List an exercise's submissions, filtered by user, status and date, newest first."""
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if exercise is None:
        abort(404)
    status = request.args.get("status", "")
    filters = SubmissionFilter(
        user=request.args.get("user", "").strip()[:200],
        status=status if status in SUBMISSION_STATUSES else "",
        date_from=_date_arg("from"),
        date_to=_date_arg("to"),
    )
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = list_submissions(exercise, filters, page, PER_PAGE)
    return render_template(
        "instructor/submissions.html",
        exercise=exercise,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters=filters,
        statuses=SUBMISSION_STATUSES,
    )


def _queue_course(row: Submission) -> Course | None:
    """Return the course whose review queue the page walks (``?course=<slug>``; 404 for a
    course the signed-in user does not teach). Without one: None, the queue of every exercise,
    for an instructor or admin (site role); the submission's course for the staff of courses
    only (an LMS's teacher), who see nothing of other courses, not even a count."""
    slug = request.args.get("course", "")
    if slug:
        return staff_course(slug)
    if is_instructor(current_user):
        return None
    return db.session.get(Course, submission_course_id(row))


def _review_queue(submission_id: int, course: Course | None = None) -> dict[str, object]:
    """Return where a submission sits in the queue of submissions waiting for review (all
    exercises, or the assignments of ``course``; oldest first): its position, the count, the
    previous and next ids, and the course's slug."""
    pending = pending_reviews(course_id=course.id if course is not None else None)
    queue = list(dict.fromkeys(item.submission_id for item in pending))
    where = {"course": course.slug if course is not None else None, "count": len(queue)}
    if submission_id not in queue:
        return {**where, "position": None, "previous": None, "next": queue[0] if queue else None}
    index = queue.index(submission_id)
    return {
        **where,
        "position": index + 1,
        "previous": queue[index - 1] if index > 0 else None,
        "next": queue[index + 1] if index + 1 < len(queue) else None,
    }


def _render_detail(
    row: Submission,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
    entered: dict[str, dict[str, str]] | None = None,
):
    rubrics = {part.id: get_kind(part.kind).rubric(part) for part in spec_of(row.version).parts}
    return render_template(
        "instructor/submission.html",
        # instructors see every mark, whatever level the students' page shows
        **(submission_context(row) | {"feedback": "full"}),
        rubrics=rubrics,
        reviewable={p["id"] for p in row.parts or [] if reviewable(p)},
        errors=errors or {},
        entered=entered or {},
        queue=_review_queue(row.id, _queue_course(row)),
        instructor_view=True,
    ), status


@bp.get("/instructor/submissions/<int:submission_id>")
@course_staff_required
def instructor_submission(submission_id: int) -> ResponseReturnValue:
    """Show one submission in full: answers, seed, per-part results, review forms. A 404 page
    for a submission made in a course the instructor does not teach."""
    row = require_submission(signed_in_user(), db.session.get(Submission, submission_id))
    return _render_detail(row)


@bp.post("/instructor/submissions/<int:submission_id>/parts/<part_id>/review")
@course_staff_required
def review_part(submission_id: int, part_id: str) -> ResponseReturnValue:
    """Record the score and feedback of a part that needs review; recompute the submission.
    A 404 page for a submission of a course the instructor does not teach."""
    row = require_submission(signed_in_user(), db.session.get(Submission, submission_id))
    entered = {
        part_id: {
            "score": request.form.get("score", "")[:50],
            "feedback": request.form.get("feedback", ""),
        }
    }
    try:
        score = float(entered[part_id]["score"])
    except ValueError:
        errors = {part_id: {"score": "Enter the score as a number."}}
        return _render_detail(row, errors, 422, entered)
    try:
        grade_review(submission_id, part_id, score, entered[part_id]["feedback"], signed_in_user())
    except ReviewError as exc:
        db.session.rollback()
        field = "feedback" if "feedback" in str(exc) else "score"
        row = db.get_or_404(Submission, submission_id)
        return _render_detail(row, {part_id: {field: str(exc)}}, 422, entered)
    flash(f"Part {part_id} graded: {score:g} points.", "info")
    course = _queue_course(row)
    return redirect(
        url_for(
            "web.instructor_submission",
            submission_id=submission_id,
            course=course.slug if course is not None else None,
        ),
        303,
    )


@bp.get("/instructor/gradebook.csv")
@default_course_staff
def gradebook_csv() -> ResponseReturnValue:
    """Return the best score per user and exercise as CSV (one row per user and exercise)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "email",
            "external_id",
            "exercise",
            "best_score",
            "max_score",
            "submissions",
            "last_submitted",
        ]
    )
    for row in gradebook():
        last = row.last_submitted.isoformat() if row.last_submitted else ""
        writer.writerow(
            [
                csv_safe(v)
                for v in (
                    row.email,
                    row.external_id,
                    row.exercise,
                    row.best_score,
                    row.max_score,
                    row.submissions,
                    last,
                )
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'},
    )


def _located(issues: list[SpecIssue], names: dict[str, str | None]) -> list[dict[str, object]]:
    """Return import problems as the page lists them: the uploaded file's own name, the line,
    the field (a part's is ``parts[i]``) and the message."""
    return [
        {
            "file": names.get(issue.file) or Path(issue.file).name,
            "line": issue.line,
            "field": issue.field,
            "message": issue.message,
        }
        for issue in issues
    ]


@bp.route("/instructor/import", methods=["GET", "POST"])
@default_course_staff
def import_form() -> ResponseReturnValue:
    """Import exercise YAML files; show every problem with its file, line and field."""
    if request.method == "GET":
        return render_template("instructor/import.html", issues=[], report=None)
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        return render_template(
            "instructor/import.html",
            report=None,
            issues=[],
            message="Choose one or more .yaml files.",
        ), 422
    if len(uploads) > MAX_IMPORT_FILES:
        return render_template(
            "instructor/import.html",
            report=None,
            issues=[],
            message=f"At most {MAX_IMPORT_FILES} files at once.",
        ), 422
    with tempfile.TemporaryDirectory(prefix="grader-import-") as tmp:
        paths, names = [], {}
        for index, upload in enumerate(uploads):
            name = secure_filename(upload.filename or "") or f"file-{index}.yaml"
            path = Path(tmp) / f"{index:02d}-{name}"
            upload.save(path)
            paths.append(path)
            names[str(path)] = upload.filename
        try:
            report = import_exercises(
                paths, selftest=True, failing_as_draft=request.form.get("drafts") == "1"
            )
        except SelfTestFailed as exc:
            return render_template(
                "instructor/import.html",
                issues=_located(exc.issues, names),
                report=None,
                message="Nothing was imported: these exercises fail their own self-test. "
                "Fix them, or import them as drafts that students do not see.",
            ), 422
        except CatalogError as exc:
            return render_template(
                "instructor/import.html",
                issues=_located(exc.issues, names),
                report=None,
                message="Nothing was imported: fix these problems.",
            ), 422
    return render_template("instructor/import.html", issues=[], report=report)
