"""How long a grade write holds the change counter (DESIGN section 8, "Changes in commit
order"): from its stamp to the end of its commit, over re-recorded submissions.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python -m benchmarks.bench_change_counter --submissions 20 --rounds 10

The database must be empty (it is migrated here); the figure is 1 / (the most changes a second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade

from grader import create_app
from grader.config import TestConfig
from grader.extensions import db
from grader.models import Submission
from grader.services import changes, results
from grader.services.exercises import import_exercises
from grader.services.grading import submit
from grader.services.users import lms_user

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    app = create_app(TestConfig(os.environ["DATABASE_URL"], Path(tempfile.mkdtemp())))
    started: list[float] = []

    def timed_stamp(submission: Submission) -> None:
        db.session.flush()  # the rows' own writes come before the counter, as in stamp_change
        started.append(time.perf_counter())
        changes.stamp_change(submission)

    results.stamp_change = timed_stamp  # type: ignore[assignment]  # measured stand-in
    held = []
    with app.app_context():
        upgrade()
        import_exercises([ROOT / "exercises" / "jacobian-shape.yaml"])
        user = lms_user("bench")
        ids = [
            submit("jacobian-shape", user, {"shape": "n×m"}, "api")[0].id
            for _ in range(args.submissions)
        ]
        for _ in range(args.rounds):
            for submission_id in ids:
                submission = db.session.get(Submission, submission_id)
                results.record_parts(submission, list(submission.parts))
                db.session.commit()
                held.append(time.perf_counter() - started[-1])
    held.sort()
    print(
        f"counter held, stamp to end of commit, {len(held)} changes: median "
        f"{statistics.median(held) * 1000:.2f} ms, p95 {held[int(len(held) * 0.95)] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
