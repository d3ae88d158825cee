"""Assignment and Grade Services: every change of a grade linked to a line item is posted to
``{lineitem}/scores``; each passback's state is stored, failures are retried and resendable.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import bindparam, select, update

from grader.extensions import db
from grader.lti import claims as C
from grader.lti.models import LtiGradeLink, LtiPassback
from grader.lti.platform import PlatformError, call
from grader.models import Status, Submission, utcnow
from grader.services.scores import user_counted_score

log = logging.getLogger(__name__)

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
PROGRESS = {
    Status.QUEUED: "Pending",
    Status.NEEDS_REVIEW: "PendingManual",
    Status.GRADED: "FullyGraded",
    Status.ERROR: "Failed",
}


def scores_url(lineitem: str) -> str:
    """Return the scores endpoint of a line item URL (``/scores`` before any query)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


# A passback is queued right after its grade commits and sent within seconds: one still pending
# after this long was never queued, and the resend (``resend_ids``) takes it.
UNSENT_AFTER = timedelta(minutes=5)
# Read by every grade change, built once; values go in as bound parameters.
GRADE_LINKS = select(LtiGradeLink).where(
    LtiGradeLink.user_id == bindparam("user"),
    LtiGradeLink.assignment_id == bindparam("assignment"),
)


def record_passbacks(submission: Submission) -> list[int]:
    """Record, in the caller's transaction, a passback of the submission's grade for every line
    item it goes to; return their ids. Older unsent passbacks of those line items are
    superseded. An outbox writer (``events.write_outbox``): the passbacks commit with the grade,
    so none is lost to a crash between the two."""
    if submission.assignment_id is None:
        return []
    links = list(
        db.session.scalars(
            GRADE_LINKS, {"user": submission.user_id, "assignment": submission.assignment_id}
        )
    )
    if not links:
        return []
    assignment = submission.assignment
    if assignment is None:  # made outside any course: no line item can take it
        return []
    counted = user_counted_score(submission.user_id, assignment)
    progress = PROGRESS.get(Status(submission.status), "Pending")
    created = []
    for link in links:
        _supersede_unsent(link.id)
        passback = LtiPassback(
            grade_link_id=link.id,
            submission_id=submission.id,
            score_given=counted.score,
            score_maximum=counted.max_score or submission.max_score,
            grading_progress=progress,
            state="pending",
            attempts=0,
            created_at=utcnow(),
        )
        db.session.add(passback)
        created.append(passback)
    db.session.flush()
    return [p.id for p in created]


def _supersede_unsent(grade_link_id: int) -> None:
    """Mark the unsent passbacks of a line item superseded, but those a sender holds now:
    ``send`` keeps its passback's row locked during its call to the platform, and this runs
    while the grade holds the change counter, so waiting for that row would hold up every
    grade write for as long as the platform takes (or fail this one at the lock timeout). A
    skipped one is being sent; should that fail, its next attempt finds this newer passback
    and is superseded then (``send``)."""
    unsent = db.session.scalars(
        select(LtiPassback.id)
        .where(
            LtiPassback.grade_link_id == grade_link_id,
            LtiPassback.state.in_(("pending", "failed")),
        )
        .with_for_update(skip_locked=True)
    ).all()
    if unsent:
        db.session.execute(
            update(LtiPassback).where(LtiPassback.id.in_(unsent)).values(state="superseded")
        )


def _timestamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def score_body(passback: LtiPassback) -> dict[str, object]:
    """Return the AGS score of a passback (its timestamp is when the grade changed)."""
    body: dict[str, object] = {
        "userId": passback.grade_link.subject,
        "scoreMaximum": passback.score_maximum,
        "activityProgress": "Completed" if passback.score_given is not None else "Submitted",
        "gradingProgress": passback.grading_progress,
        "timestamp": _timestamp(passback.created_at),
    }
    if passback.score_given is not None:
        body["scoreGiven"] = passback.score_given
    return body


def send(passback_id: int) -> tuple[str, bool]:
    """Post one passback; return its new state and whether a failure is worth retrying.

    A superseded or already sent passback is left alone, and one whose line item has a newer
    passback is superseded instead of sent. The passback's row stays locked until the commit,
    so two senders (the beat task and the instructor's button) never post it twice. Commits.
    """
    # read again under the lock: the session may hold it from the grade (no expiry on commit)
    passback = db.session.get(
        LtiPassback, passback_id, with_for_update=True, populate_existing=True
    )
    if passback is None or passback.state not in ("pending", "failed"):
        return (passback.state if passback else "missing"), False
    newer = db.session.scalar(
        select(LtiPassback.id)
        .where(LtiPassback.grade_link_id == passback.grade_link_id, LtiPassback.id > passback.id)
        .limit(1)
    )
    if newer is not None:  # a newer grade of this line item was recorded meanwhile
        passback.state = "superseded"
        db.session.commit()
        return "superseded", False
    link = passback.grade_link
    passback.attempts += 1
    try:
        call(
            link.registration,
            C.SCOPE_SCORE,
            "POST",
            scores_url(link.lineitem_url),
            score_body(passback),
            content_type=SCORE_TYPE,
        )
    except PlatformError as exc:
        passback.state, passback.last_error = "failed", str(exc)[:2000]
        db.session.commit()
        log.warning("LTI passback %s failed (attempt %s): %s", passback_id, passback.attempts, exc)
        return "failed", exc.retryable
    passback.state, passback.sent_at, passback.last_error = "sent", utcnow(), None
    db.session.commit()
    return "sent", False


def resend_ids(now: datetime | None = None) -> list[int]:
    """Return the passbacks to send again, oldest first: those whose last attempt failed, and
    those still unsent ``UNSENT_AFTER`` after their grade (never queued: the broker was down,
    or the process stopped between the commit and the queueing). Superseded ones are not."""
    unsent_before = (now or utcnow()) - UNSENT_AFTER
    return list(
        db.session.scalars(
            select(LtiPassback.id)
            .where(
                (LtiPassback.state == "failed")
                | ((LtiPassback.state == "pending") & (LtiPassback.created_at < unsent_before))
            )
            .order_by(LtiPassback.id)
        )
    )


def resend_now() -> tuple[str, bool]:
    """Send every passback ``resend_ids`` names now, one after the other (the command and the
    instructor's button); return what happened, in a sentence, and whether some still fail."""
    ids = resend_ids()
    states = [send(i)[0] for i in ids]
    sent, failing = states.count("sent"), states.count("failed")
    superseded = states.count("superseded")
    return (
        f"{len(ids)} failed or unsent passbacks resent: {sent} sent, "
        + (f"{superseded} superseded by a newer grade, " if superseded else "")
        + f"{failing} still failing."
    ), failing > 0


def recent(limit: int = 100) -> list[LtiPassback]:
    """Return the latest passbacks, newest first (the instructor's page)."""
    return list(
        db.session.scalars(select(LtiPassback).order_by(LtiPassback.id.desc()).limit(limit))
    )
