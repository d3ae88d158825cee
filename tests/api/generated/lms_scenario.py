"""An LMS's calls through the client that openapi-python-client generates from the served
OpenAPI document (package ``grader_client``): submit, poll, page the gradebook and the
changes, export CSV. tests/api/test_generated_client.py generates the client, type-checks this
file against it with mypy and runs it against a live server; it prints a JSON summary."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

from grader_client import AuthenticatedClient
from grader_client.api.scores import export_scores, list_scores
from grader_client.api.submissions import create_submission, get_submission, list_submissions
from grader_client.models import Problem, Result, ScorePage, SubmissionPage, SubmissionRequest
from grader_client.models.result_status import ResultStatus
from grader_client.models.submission_request_answers import SubmissionRequestAnswers
from grader_client.types import UNSET


def cursor_of(url: object) -> str | None:
    """Return the cursor of a links.next or links.resume URL (None: there is none)."""
    if not isinstance(url, str):
        return None
    return parse_qs(urlparse(url).query)["cursor"][0]


def submit(client: AuthenticatedClient, user: str, answers: dict[str, object]) -> Result:
    """Submit, then poll the Location while the result is queued; return the result."""
    response = create_submission.sync_detailed(
        "jacobian-shape",
        client=client,
        body=SubmissionRequest(user=user, answers=SubmissionRequestAnswers.from_dict(answers)),
        idempotency_key=f"{user}-1",
    )
    result = response.parsed
    if not isinstance(result, Result):
        raise RuntimeError(f"submit: {response.status_code} {response.content!r}")
    location = response.headers["Location"]
    while result.status == ResultStatus.QUEUED:
        time.sleep(0.2)
        polled = get_submission.sync(int(location.rsplit("/", 1)[1]), client=client)
        if not isinstance(polled, Result):
            raise RuntimeError(f"poll: {polled!r}")
        result = polled
    return result


def gradebook(client: AuthenticatedClient) -> list[tuple[str, float | None]]:
    """Page through the gradebook one row a page; return (user, best score) rows."""
    rows: list[tuple[str, float | None]] = []
    cursor: str | None = None
    while True:
        page = list_scores.sync(client=client, limit=1, cursor=cursor or UNSET)
        if not isinstance(page, ScorePage):
            raise RuntimeError(f"scores: {page!r}")
        rows += [(row.user, row.best_score) for row in page.items]
        cursor = cursor_of(page.links.next_)
        if cursor is None:
            return rows


def changes(client: AuthenticatedClient) -> tuple[list[int], str]:
    """Read every submission in change order; return their ids and the resume cursor."""
    ids: list[int] = []
    since = datetime(1970, 1, 1, tzinfo=UTC)
    cursor: str | None = None
    while True:
        page = list_submissions.sync(
            client=client, updated_since=since, limit=1, cursor=cursor or UNSET
        )
        if not isinstance(page, SubmissionPage):
            raise RuntimeError(f"changes: {page!r}")
        ids += [item.id for item in page.items]
        resume = cursor_of(page.links.resume)
        cursor = cursor_of(page.links.next_)
        if cursor is None:
            assert resume is not None
            return ids, resume


def main() -> int:
    client = AuthenticatedClient(
        base_url=os.environ["GRADER_URL"],
        token=os.environ["GRADER_TOKEN"],
        raise_on_unexpected_status=True,
    )
    first = submit(client, "gen-1", {"shape": "n×m"})
    second = submit(client, "gen-2", {"shape": "m×n", "vector_or_matrix": ["dJ_do"]})
    refused = create_submission.sync(
        "jacobian-shape",
        client=client,
        body=SubmissionRequest(
            user="gen-3", answers=SubmissionRequestAnswers.from_dict({"nope": "1"})
        ),
    )
    csv_text = export_scores.sync(client=client, exercise="jacobian-shape")
    ids, _resume = changes(client)
    summary = {
        "scores": [first.score, second.score],
        "updated_at": first.updated_at.isoformat(),
        "refused": refused.type_ if isinstance(refused, Problem) else None,
        "gradebook": gradebook(client),
        "changes": ids,
        "csv": csv_text if isinstance(csv_text, str) else None,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
