"""Load test of the web stack on PostgreSQL (and of the grading queue on Redis + Celery).

    .venv/bin/python -m benchmarks.load.run [--workers 2] [--seconds 15] [--clients 16 64]

Creates a PostgreSQL database of its own (dropped at the end), serves ``benchmarks.load.wsgi``
with gunicorn (``gunicorn.conf.py``, rate limit off) on 127.0.0.1 behind nginx with the
deployment's configuration (``deploy/nginx``; ``--no-proxy``: gunicorn alone), and measures:
1. submissions through the API (answers drawn from each exercise's ``examples``) at each client
   count, clients sending back to back, each round followed by ``/healthz`` at the same count,
   the ceiling of the web stack;
2. the latency at a student's pace: after the rounds at the first count, many clients that wait
   a random time before each submission offer half the submissions/s just measured (--paced; or
   a rate of their own, --paced-rate);
3. code submissions through the queue: two Celery workers (separate processes) on Redis DB 5
   grade them in the sandbox.
Afterwards every acknowledged submission (2xx with an id) must be in the database exactly once
with the score it was acknowledged with. Results go to benchmarks/results/load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import yaml

from benchmarks.load import nginx, wrk
from benchmarks.load.client import Outcome, percentile, run_load, summarise

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN = os.environ.get("GRADER_LOAD_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("GRADER_LOAD_REDIS", "redis://127.0.0.1:6379/5")
RESULTS = ROOT / "benchmarks" / "results" / "load.md"


def examples_of(slug: str) -> dict[str, list]:
    """Return, per part id, the example answers listed in ``exercises/<slug>.yaml``."""
    spec = yaml.safe_load((ROOT / "exercises" / f"{slug}.yaml").read_text())
    answers: dict[str, list] = {}
    for example in spec.get("examples", []):
        answers.setdefault(example["part"], []).append(example["answer"])
    return answers


def submission_maker(slug: str, user_count: int = 500, new_answers: float = 0.0):
    """Return a request factory: POST a submission of ``slug`` with answers drawn at random.

    A share ``new_answers`` of the formula answers is written in a form that no other request
    uses, ``(A) + 0*UNIQUE`` with UNIQUE replaced by a number of its own when the request is
    sent (``fill_unique``, or the wrk script): the same value and grade as ``A``, but a text the
    server has not read before, so that neither its parse cache nor its value memo knows it.
    """
    pool = examples_of(slug)

    def make(rng):
        answers = {}
        for part, values in pool.items():
            answer = rng.choice(values)
            if isinstance(answer, str) and new_answers and rng.random() < new_answers:
                answer = f"({answer}) + 0*UNIQUE"
            answers[part] = answer
        user = f"load-{rng.randrange(user_count)}"
        return "POST", f"/api/v1/exercises/{slug}/submissions", {"user": user, "answers": answers}

    return make


def fill_unique(body: dict, numbers: Iterator[int]) -> dict:
    """Return ``body`` with each UNIQUE in its answers replaced by the next of ``numbers``."""
    text = json.dumps(body)
    while "UNIQUE" in text:
        text = text.replace("UNIQUE", str(next(numbers)), 1)
    return json.loads(text)


def grader_cli(env: dict[str, str], *args: str) -> str:
    """Run ``grader ARGS`` with ``env``; return its standard output."""
    done = subprocess.run(
        [str(BIN / "grader"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout


def create_database(name: str) -> str:
    """Create PostgreSQL database ``name`` (through ``ADMIN``); return its URL."""
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return ADMIN.rpartition("/")[0] + "/" + name


def drop_database(name: str) -> None:
    """Drop PostgreSQL database ``name``, closing whatever is still connected to it."""
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(env: dict[str, str], files: list[str], token_name: str) -> str:
    """Migrate the database ``env`` names, import the exercise ``files``; return a new API
    token (scopes submit and read:scores)."""
    grader_cli(env, "db", "upgrade")
    grader_cli(env, "exercises", "import", *files)
    return grader_cli(env, "tokens", "create", token_name).strip().splitlines()[-1]


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def spawn(command: list[str], env: dict[str, str], log) -> subprocess.Popen:
    """Start ``command`` in ``ROOT`` with ``env``, its output to the open file ``log``, in a
    process group of its own (``stop`` ends the whole group)."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def verify(db_url: str, outcomes: list[Outcome]) -> dict[str, int]:
    """Check every acknowledged submission is stored once with its score; return the counts."""
    acked = {o.body["id"]: o for o in outcomes if 200 <= o.status < 300 and "id" in o.body}
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT id, score, idempotency_key, status FROM submissions").fetchall()
    by_key: dict[str, int] = {}
    for _id, _score, key, _status in rows:
        by_key[key] = by_key.get(key, 0) + 1
    stored = {row[0]: row for row in rows}
    missing = [i for i in acked if i not in stored]
    wrong = [
        i
        for i, o in acked.items()
        if i in stored
        and (
            (o.key and stored[i][2] != o.key)
            or (o.body.get("status") == "graded" and abs(stored[i][1] - o.body["score"]) > 1e-9)
        )
    ]
    duplicates = sum(1 for count in by_key.values() if count > 1)
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row[3]] = statuses.get(row[3], 0) + 1
    return {
        "acknowledged": len(acked),
        "rows": len(rows),
        "missing": len(missing),
        "score_mismatch": len(wrong),
        "duplicate_keys": duplicates,
        "statuses": statuses,
    }


def paced_phase(args, base, token, path, bodies, rounds, master) -> dict:
    """Load at ``args.paced`` times the submissions/s of ``rounds`` (the saturated rounds just
    run), offered by ``args.paced_clients`` clients that each wait a random time before each
    request, as students do; return the phase's figures and outcomes. The latency a student
    sees below the service's capacity, where the saturated rounds' latency is only their
    queue (16 clients at X submissions/s wait about 16 / X seconds, Little's law)."""
    capacity = statistics.median(posted["rps"] for posted, _ in rounds)
    offered = args.paced_rate or args.paced * capacity
    think_ms = 1000 * args.paced_clients / offered
    before = cpu_seconds(master)
    outcomes, summary = phase(
        args, base, token, "POST", path, bodies, args.paced_clients, args.paced_seconds, think_ms
    )
    summary["cpu_s"] = cpu_delta(before, cpu_seconds(master))
    return {
        "capacity": capacity,
        "offered": round(offered, 1),
        "think_ms": round(think_ms),
        "summary": summary,
        "outcomes": outcomes,
    }


def queue_phase(
    env, base, token, db_url, count, clients, workers_log, workers=2, concurrency=1
) -> dict:
    """Submit ``count`` code answers, wait until ``workers`` Celery workers (separate
    processes, as on separate machines, ``concurrency`` processes each) graded them; return
    the figures."""
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    started_workers = [
        spawn(
            [
                str(BIN / "celery"),
                "-A",
                "grader.worker",
                "worker",
                "--hostname",
                f"load{number}@%h",
                "--concurrency",
                str(concurrency),
                "-P",
                "prefork",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            workers_log,
        )
        for number in range(1, workers + 1)
    ]
    try:
        time.sleep(4)
        outcomes, elapsed = asyncio.run(
            run_load(base, token, submission_maker("backprop-code"), clients, 120, count)
        )
        started = time.monotonic()
        with psycopg.connect(db_url, autocommit=True) as conn:
            while time.monotonic() - started < 300:
                left = conn.execute(
                    "SELECT count(*) FROM submissions WHERE status = 'queued'"
                    " AND exercise_version_id IN (SELECT v.id FROM"
                    " exercise_versions v JOIN exercises e ON"
                    " v.exercise_id = e.id WHERE e.slug = 'backprop-code')"
                ).fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.5)
            rows = conn.execute(
                "SELECT s.status, extract(epoch FROM s.graded_at - s.created_at) FROM submissions s"
                " JOIN exercise_versions v ON s.exercise_version_id = v.id JOIN exercises e"
                " ON v.exercise_id = e.id WHERE e.slug = 'backprop-code'"
            ).fetchall()
        drain = time.monotonic() - started + elapsed
    finally:
        for worker in started_workers:
            stop(worker)
    waits = [float(r[1]) for r in rows if r[1] is not None]
    return {
        "submit": summarise(outcomes, elapsed),
        "outcomes": outcomes,
        "statuses": {s: sum(1 for r in rows if r[0] == s) for s in {r[0] for r in rows}},
        "graded_per_s": round(len(waits) / drain, 2) if drain else 0.0,
        "wait_p50_s": round(percentile(waits, 50), 2),
        "wait_p99_s": round(percentile(waits, 99), 2),
        "workers": workers,
        "concurrency": concurrency,
    }


def cpu_seconds(master: int) -> dict[str, float]:
    """Return the CPU seconds used so far by the web workers (children of the gunicorn
    ``master``) and by PostgreSQL's processes (read from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"web": 0.0, "postgres": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        if int(fields[1]) == master:
            used["web"] += seconds
        elif name == "postgres":
            used["postgres"] += seconds
    return used


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before[name], 2) for name in before}


_phases = itertools.count(1)


def phase(args, base, token, method, path, bodies, clients, seconds, think_ms=0.0):
    """Run one load phase with the chosen client; return its outcomes and summary. With
    ``think_ms``, each client waits that long on average before each request (a student's
    pace) instead of sending back to back. Each phase numbers its new answers (UNIQUE) from a
    range of its own: 10^7 numbers, for a phase of up to about 600,000 requests, and at most
    99 phases, as the formula language reads numbers up to 10^9 only."""
    number = next(_phases)
    if number > 99:
        raise RuntimeError("too many load phases to number their new answers apart")
    unique_base = number * 10**7
    if args.client == "wrk":
        return wrk.run_wrk(
            base,
            token,
            method,
            path,
            bodies,
            clients,
            seconds,
            unique_base=unique_base,
            think_ms=think_ms,
        )
    iterator = itertools.cycle(bodies or [None])
    numbers = itertools.count(unique_base)

    def make(_rng):
        body = next(iterator)
        return method, path, fill_unique(body, numbers) if body else body

    outcomes, elapsed = asyncio.run(
        run_load(base, token, make, clients, seconds, args.max_requests, think_ms / 1000)
    )
    return outcomes, summarise(outcomes, elapsed)


def main() -> None:  # noqa: PLR0915 - a script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # gunicorn.conf.py's defaults on 2 cores (CPU + 1 workers, 2 threads)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10, help="seconds of each POST phase")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--max-requests", type=int, default=20000, help="python client only")
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if wrk.available() else "python",
        help="load client: wrk (default when installed) or the asyncio one",
    )
    parser.add_argument("--warmup", type=float, default=20, help="seconds of warm-up load")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of submissions then /healthz per count"
    )
    parser.add_argument("--bodies", type=int, default=5000, help="distinct request bodies")
    parser.add_argument(
        "--new-answers",
        type=float,
        nargs="+",
        default=[0.0, 0.3, 1.0],
        help="shares of formula answers written in a form no request used before (one set of "
        "rounds per share)",
    )
    parser.add_argument("--exercise", default="backprop-bias")
    parser.add_argument(
        "--paced",
        type=float,
        default=0.5,
        help="after the rounds of each share, load at this fraction of the submissions/s just "
        "measured at the first client count, by clients at a student's pace (0: skip)",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=0.0,
        help="offer this many submissions/s in the paced phase instead of a fraction of the "
        "capacity (a deadline of 1,000 students sends about 5/s)",
    )
    parser.add_argument("--paced-clients", type=int, default=64)
    parser.add_argument("--paced-seconds", type=float, default=20)
    parser.add_argument("--code", type=int, default=60, help="code submissions (0: skip queue)")
    parser.add_argument(
        "--code-workers", type=int, default=2, help="Celery workers (separate processes)"
    )
    parser.add_argument("--code-concurrency", type=int, default=1, help="processes per worker")
    parser.add_argument("--port", type=int, default=8765, help="where the clients connect")
    parser.add_argument(
        "--no-proxy",
        action="store_true",
        help="clients connect to gunicorn itself, not to nginx in front of it as deployed",
    )
    args = parser.parse_args()
    if not args.no_proxy and not nginx.available():
        parser.error("nginx is not installed (apt-get install nginx-light); or pass --no-proxy")

    name = f"grader_load_{os.getpid()}"
    db_url = create_database(name)
    base = f"http://127.0.0.1:{args.port}"
    web_port = args.port if args.no_proxy else args.port + 1
    env = os.environ | {
        "DATABASE_URL": db_url,
        "SECRET_KEY": "load-test",
        "GRADER_API_RATE_LIMIT": "0",
        "GRADER_ACCESS_LOG": "off",
        "CELERY_BROKER_URL": REDIS,
        "OPENBLAS_NUM_THREADS": "1",
        "GRADER_INSTANCE_PATH": f"/tmp/{name}",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_dir = Path(f"/tmp/{name}")
    log_dir.mkdir(parents=True, exist_ok=True)
    web = None
    report: dict = {"phases": [], "loadavg": ", ".join(f"{x:.2f}" for x in os.getloadavg())}
    stack = ExitStack()  # nginx, stopped before gunicorn
    try:
        files = [
            str(ROOT / "exercises" / f"{s}.yaml") for s in sorted({args.exercise, "backprop-code"})
        ]
        token = prepare_database(env, files, "load")
        with (log_dir / "web.log").open("ab") as web_log:
            web = spawn(
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    str(ROOT / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    str(args.workers),
                    "--threads",
                    str(args.threads),
                    "benchmarks.load.wsgi:app",
                ],
                env,
                web_log,
            )
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        if not args.no_proxy:
            proxy = stack.enter_context(
                nginx.nginx_in_front(f"127.0.0.1:{web_port}", log_dir / "nginx", args.port)
            )
            assert proxy == base
        rng = random.Random(20261126)
        bodies = {}
        for share in args.new_answers:
            make = submission_maker(args.exercise, new_answers=share)
            bodies[share] = [make(rng)[2] for _ in range(args.bodies)]
        path = f"/api/v1/exercises/{args.exercise}/submissions"
        all_outcomes: list[Outcome] = []
        # Warm-up (checked, not reported): imports, connection pools, and the instances each
        # worker traces once (DESIGN 6: trials come from a pool of instances per exercise).
        warm, warm_summary = phase(
            args, base, token, "POST", path, bodies[args.new_answers[0]], 16, args.warmup
        )
        all_outcomes += warm
        report["warmup"] = warm_summary
        # Submissions and /healthz alternate in rounds, so a change in the machine's speed
        # (other tenants of its cores) weighs on both sides of the ratio alike.
        for clients in args.clients:
            for share in args.new_answers:
                rounds = []
                for _ in range(args.rounds):
                    before = cpu_seconds(web.pid)
                    outcomes, posted = phase(
                        args, base, token, "POST", path, bodies[share], clients, args.seconds
                    )
                    posted["cpu_s"] = cpu_delta(before, cpu_seconds(web.pid))
                    all_outcomes += outcomes
                    _, ceiling = phase(
                        args, base, token, "GET", "/healthz", [], clients, args.seconds / 2
                    )
                    rounds.append((posted, ceiling))
                report["phases"].append((clients, share, rounds))
                if (args.paced or args.paced_rate) and clients == args.clients[0]:
                    paced = paced_phase(args, base, token, path, bodies[share], rounds, web.pid)
                    all_outcomes += paced.pop("outcomes")
                    report.setdefault("paced", []).append((share, paced))
        if args.code:
            with (log_dir / "worker.log").open("ab") as worker_log:
                queue = queue_phase(
                    env,
                    base,
                    token,
                    db_url,
                    args.code,
                    16,
                    worker_log,
                    args.code_workers,
                    args.code_concurrency,
                )
            all_outcomes += queue.pop("outcomes")
            report["queue"] = queue
        report["verify"] = verify(db_url, all_outcomes)
    finally:
        stack.close()
        if web is not None:
            stop(web)
        drop_database(name)
    report["args"] = vars(args)
    write_results(report)
    print(RESULTS.read_text())


def write_results(report: dict) -> None:
    """Write benchmarks/results/load.md from ``report``."""
    cpu = (
        subprocess.run(
            "lscpu | grep 'Model name'",
            shell=True,
            capture_output=True,  # noqa: S602
            text=True,
        )
        .stdout.split(":", 1)[-1]
        .strip()
    )
    args = report["args"]
    client = (
        "wrk (2 threads, keep-alive, `benchmarks/load/submit.lua`)"
        if args["client"] == "wrk"
        else "`benchmarks/load/client.py` (asyncio + httpx, keep-alive)"
    )
    warm = report["warmup"]
    lines = [
        "# Load test: the web stack on PostgreSQL, the grading queue on Redis + Celery",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; the "
        "load client, gunicorn, PostgreSQL, Redis and the Celery worker share these cores; "
        f"load average before the run: {report['loadavg']}.",
        f"- gunicorn: {args['workers']} workers x {args['threads']} threads "
        f"(gthread{', alone' if args['no_proxy'] else ', behind nginx (`deploy/nginx`)'}), "
        "`gunicorn.conf.py`, app "
        "`benchmarks.load.wsgi` (metrics, JSON request logs and outage handling on), access "
        "log off, `GRADER_API_RATE_LIMIT=0`.",
        f"- Exercise: `{args['exercise']}`, every part answered, answers drawn at random from "
        "its `examples` (correct and wrong ones); 500 LMS users; each request with its own "
        "Idempotency-Key.",
        "- New answers: the share of formula answers written in a form that no earlier request "
        "used, `(A) + 0*N` with N a number of its own (same value and grade as `A`), so that "
        "the server has neither parsed nor evaluated it before. At 0 every answer is one of the "
        "exercise's examples, which each web worker has seen during the warm-up; a class "
        "submitting at a deadline lies between (many students write the same formula, and "
        "the text of a correct answer varies less than the wrong ones).",
        f"- Client: {client}. Warm-up first: {warm['requests']} submissions in "
        f"{warm['seconds']} s at 16 clients (checked below, not in the table).",
        f"- Each client count: {args['rounds']} rounds of submissions for {args['seconds']:g} s "
        f"then GET /healthz for {args['seconds'] / 2:g} s, so that the ceiling is measured "
        "beside each submission phase (this machine's speed drifts from minute to minute).",
        "- Command: `.venv/bin/python -m benchmarks.load.run`",
        "",
        "| clients | new answers | round | submissions/s | p50 ms | p99 ms | errors "
        "| /healthz req/s | ratio | CPU ms per submission: web / PostgreSQL |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for clients, share, rounds in report["phases"]:
        ratios = []
        for number, (posted, ceiling) in enumerate(rounds, 1):
            ratio = posted["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0
            ratios.append(ratio)
            cpu_ms = {
                k: 1000 * v / posted["requests"] if posted["requests"] else 0.0
                for k, v in posted["cpu_s"].items()
            }
            lines.append(
                f"| {clients} | {share:g} | {number} | {posted['rps']} | {posted['p50_ms']} | "
                f"{posted['p99_ms']} | {posted['errors'] + ceiling['errors']} | "
                f"{ceiling['rps']} | {ratio:.3f} | {cpu_ms['web']:.1f} / "
                f"{cpu_ms['postgres']:.1f} |"
            )
        total = sum(p["requests"] for p, _ in rounds)
        seconds = sum(p["seconds"] for p, _ in rounds)
        lines.append(
            f"| **{clients}** | **{share:g}** | **all** | **{total / seconds:.1f}** | | "
            f"**{max(p['p99_ms'] for p, _ in rounds)}** (worst) | | | "
            f"**{statistics.median(ratios):.3f}** (median) | |"
        )
    paced = report.get("paced")
    if paced:
        lines += [
            "",
            "## Latency at a student's pace, below capacity",
            "",
            f"After each share's rounds, {args['paced_clients']} clients for "
            f"{args['paced_seconds']:g} s, each waiting a random time (exponential) before each "
            "submission, so that together they offer "
            + (
                f"{args['paced_rate']:g} submissions/s. "
                if args.get("paced_rate")
                else f"{args['paced']:g} times the submissions/s just measured at "
                f"{args['clients'][0]} clients (the capacity). "
            )
            + "What a student sees while the service is busy but not saturated; in the rounds "
            "above, the latency is the queue of clients sending back to back.",
            "",
            "| new answers | capacity/s | offered/s | mean wait ms | submissions/s | p50 ms "
            "| p99 ms | max ms | errors | web CPU ms per submission |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for share, figures in paced:
            s = figures["summary"]
            web_ms = 1000 * s["cpu_s"]["web"] / s["requests"] if s["requests"] else 0.0
            lines.append(
                f"| {share:g} | {figures['capacity']:.1f} | {figures['offered']} | "
                f"{figures['think_ms']} | {s['rps']} | {s['p50_ms']} | {s['p99_ms']} | "
                f"{s.get('max_ms', '')} | {s['errors']} | {web_ms:.1f} |"
            )
    queue = report.get("queue")
    if queue:
        s = queue["submit"]
        lines += [
            "",
            "## Code submissions through the queue",
            "",
            f"{s['requests']} `backprop-code` submissions (16 clients) acknowledged with 202 "
            f"in {s['seconds']} s (p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, errors "
            f"{s['errors']}); {queue['workers']} Celery workers (separate processes, "
            f"prefork, concurrency {queue['concurrency']} each) graded them in the "
            f"bubblewrap sandbox: {queue['graded_per_s']} submissions/s end to end, time from "
            f"stored to graded p50 {queue['wait_p50_s']} s, p99 {queue['wait_p99_s']} s. "
            f"Final statuses: {queue['statuses']}.",
        ]
    v = report["verify"]
    lines += [
        "",
        "## Nothing acknowledged was lost",
        "",
        f"{v['acknowledged']} acknowledged submissions (2xx with an id); {v['rows']} rows in the "
        f"database; missing: {v['missing']}; score differing from the acknowledged one: "
        f"{v['score_mismatch']}; Idempotency-Keys stored more than once: {v['duplicate_keys']}. "
        f"Stored statuses: {v['statuses']}.",
        "",
    ]
    errors = v["statuses"].get("error", 0)
    if errors:
        lines += [
            f"**Warning: {errors} stored submissions ended as `error`** (a kind raised while "
            "grading; see the web and worker logs): the figures above include those failed "
            "gradings, not successful ones.",
            "",
        ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
