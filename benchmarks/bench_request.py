"""What one API submission costs the web process, in process, on PostgreSQL: CPU time, and
instructions when run under callgrind.

    .venv/bin/python -m benchmarks.bench_request [--requests 300] [--warmup 1500] [--new-answers 0]
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/request.cg \\
        .venv/bin/python -m benchmarks.bench_request --callgrind --warmup 400 --requests 100

The load test (``benchmarks/load``) measures the whole stack, but on a shared 2-core machine its
figures swing by 20 % from one minute to the next, and a change worth 3 % is lost in that.
Instructions do not depend on how busy the machine is: with ``--callgrind`` the script counts
only the measured requests (valgrind prints them as "Collected" at exit), so running the same
command on two commits compares them. Only the web process's own user-space instructions are
counted, not PostgreSQL's or the kernel's (the load test reports PostgreSQL's CPU per
submission).

Requests go through Flask's test client to ``benchmarks.load.wsgi``, the app the load test
serves (its JSON request lines are formatted, then dropped), with the load test's answers
(``--new-answers``: the share written in a form the process has not seen). The database is
created for the run and dropped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import subprocess
import time

from benchmarks.load.run import (
    create_database,
    drop_database,
    fill_unique,
    prepare_database,
    submission_maker,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="measured submissions")
    parser.add_argument("--warmup", type=int, default=1500, help="submissions before measuring")
    parser.add_argument("--new-answers", type=float, default=0.0)
    parser.add_argument("--exercise", default="backprop-bias")
    parser.add_argument(
        "--callgrind", action="store_true", help="turn callgrind's counting on for the measure"
    )
    args = parser.parse_args()

    name = f"grader_request_{os.getpid()}"
    settings = {
        "DATABASE_URL": create_database(name),
        "SECRET_KEY": "bench-request",
        "GRADER_API_RATE_LIMIT": "0",
        "GRADER_INSTANCE_PATH": f"/tmp/{name}",
        "OPENBLAS_NUM_THREADS": "1",
    }
    try:
        token = prepare_database(
            os.environ | settings, [f"exercises/{args.exercise}.yaml"], "bench"
        )
        os.environ.update(settings)
        measure(args, token)
    finally:
        drop_database(name)


def measure(args: argparse.Namespace, token: str) -> None:
    from benchmarks.load.wsgi import app
    from grader.extensions import db

    make = submission_maker(args.exercise, new_answers=args.new_answers)
    rng = random.Random(1)
    bodies = [make(rng)[2] for _ in range(5000)]
    numbers = itertools.count(10**8)
    path = f"/api/v1/exercises/{args.exercise}/submissions"
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    sent = itertools.count()

    def submit() -> None:
        body = fill_unique(bodies[next(sent) % len(bodies)], numbers)
        response = client.post(path, json=body, headers=headers)
        if response.status_code != 201:
            raise SystemExit(f"submission refused: {response.status_code} {response.text}")

    submit()
    for handler in logging.getLogger("grader.request").handlers:  # formatted, then dropped
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the process's lifetime
    for _ in range(args.warmup):
        submit()
    if args.callgrind:
        callgrind("on")
    started_cpu, started = time.process_time(), time.perf_counter()
    for _ in range(args.requests):
        submit()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    if args.callgrind:
        callgrind("off")
    with app.app_context():
        db.engine.dispose()
    print(
        f"{args.requests} submissions of {args.exercise} (new answers {args.new_answers:g}, "
        f"after {args.warmup}): {cpu / args.requests * 1000:.2f} ms CPU and "
        f"{wall / args.requests * 1000:.2f} ms wall per submission"
    )
    if args.callgrind:
        print(f"instructions per submission: valgrind's 'Collected' / {args.requests}")


def callgrind(state: str) -> None:
    """Turn callgrind's counting on or off for this process."""
    subprocess.run(
        ["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True
    )


if __name__ == "__main__":
    main()
