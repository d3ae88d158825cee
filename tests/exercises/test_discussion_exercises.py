"""The chapter discussion's exercises (forward-vs-reverse, squared-loss) pass the self-test:
references full marks, listed mistakes rejected with their feedback, examples as stated."""

from pathlib import Path

import pytest

from grader.selftest import selftest_paths

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


@pytest.mark.parametrize("slug", ["forward-vs-reverse", "squared-loss"])
def test_every_part_is_self_tested(slug: str) -> None:
    (report,) = selftest_paths([EXERCISES / f"{slug}.yaml"])
    assert report.failures == 0, [line for line, ok in report.lines() if not ok]
    assert all(part.checks for part in report.parts)
    assert len(report.parts) == {"forward-vs-reverse": 11, "squared-loss": 3}[slug]
