"""What a warm API submission asks the database: the statements are counted, and named, so that a
new query on the hot path is a decision made here and not an accident (DESIGN section 8, "The
statements of a submission"; the cost of each is measured in benchmarks/results/request.md).

Counted through SQLAlchemy's public ``before_cursor_execute`` event, on SQLite and on
PostgreSQL (``-m db``). ``BEGIN`` and ``COMMIT`` are not cursor statements and are not counted.
"""

from __future__ import annotations

import re

from tests.api.helpers import ANSWERS, SUBMIT_URL, auth, statements_of

# A submission of a known student, enrolled, to an assigned exercise without an attempt limit,
# in a course with no webhook and no LTI link: the statements, in order, by what they touch.
WARM_SUBMISSION = [
    "SELECT api_tokens",  # the token, its course joined: read on every request (revocation)
    "SELECT exercise_versions",  # the current version, its exercise and the course's assignment
    "SELECT users",  # the student and their enrolment in the course
    "SELECT submissions",  # the attempt number, in the transaction that stores it
    "UPDATE change_counter",  # the change number, which the INSERT below carries
    "INSERT submissions",
    "INSERT submission_parts",  # one executemany for every part
    # the outbox writers, in the same transaction (services.events.write_outbox):
    "SELECT lti_grade_links",  # the LMS line items the grade goes back to
    "SELECT webhooks",  # the course's active hooks
]


def statement_name(sql: str) -> str:
    """Return "VERB table" for a statement: the first table it names after its verb."""
    verb = sql.split(None, 1)[0].upper()
    pattern = {
        "SELECT": r"\bFROM\s+\"?(\w+)",
        "INSERT": r"\bINTO\s+\"?(\w+)",
        "UPDATE": r"^UPDATE\s+\"?(\w+)",
        "DELETE": r"\bFROM\s+\"?(\w+)",
    }.get(verb)
    found = re.search(pattern, sql, re.IGNORECASE) if pattern else None
    return f"{verb} {found.group(1)}" if found else verb


def submit(client, token, user="lms-1"):
    response = client.post(SUBMIT_URL, json={"user": user, "answers": ANSWERS}, headers=auth(token))
    assert response.status_code == 201, response.text
    return response


def test_a_warm_submission_sends_the_statements_listed_here(imported, client, make_token):
    token = make_token()
    submit(client, token)  # the student is created and enrolled on first use
    seen = statements_of(imported, lambda: submit(client, token))
    assert [statement_name(sql) for sql in seen] == WARM_SUBMISSION


def test_a_first_submission_also_creates_and_enrols_the_student(imported, client, make_token):
    token = make_token()
    submit(client, token, user="lms-warm")
    seen = [
        statement_name(sql)
        for sql in statements_of(imported, lambda: submit(client, token, user="lms-new"))
    ]
    assert "INSERT users" in seen and "INSERT enrolments" in seen
    assert seen[-len(WARM_SUBMISSION[3:]) :] == WARM_SUBMISSION[3:]


def test_statement_names():
    assert statement_name("SELECT a.x FROM api_tokens LEFT OUTER JOIN courses") == (
        "SELECT api_tokens"
    )
    assert statement_name('INSERT INTO "submissions" (id) VALUES (1)') == "INSERT submissions"
    assert statement_name("UPDATE change_counter SET value=1") == "UPDATE change_counter"
    assert statement_name("SELECT max(submissions.attempt) FROM submissions") == (
        "SELECT submissions"
    )
