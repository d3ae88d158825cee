"""The submission page carries the worked backprop (data, script, live region) for the
exercises that show it, and nothing for the others."""

import json
import re
from html import unescape as html_unescape

from sqlalchemy import select

from grader.extensions import db
from grader.models import User
from grader.services.exercises import import_exercises
from grader.services.grading import submit
from tests.conftest import EXERCISES


def test_the_submission_page_carries_it_only_for_its_exercises(imported, student) -> None:
    with imported.app_context():
        import_exercises([EXERCISES / "backprop-bias.yaml"])
        user = db.session.scalar(select(User).where(User.email == "student@example.org"))
        with_worked, _ = submit("backprop-bias", user, {"dJ_dz": "dJ_dh"}, "web")
        without, _ = submit("jacobian-shape", user, {"shape": "n×m"}, "web")
        ids = with_worked.id, without.id
    html = student.get(f"/submissions/{ids[0]}").get_data(as_text=True)
    data = re.search(r"data-worked='([^']*)'", html)
    worked = json.loads(html_unescape(data.group(1)))
    assert worked["wrong"]["part"] == "dJ_dz"
    assert "worked.js" in html and 'aria-live="polite"' in html
    assert "data-worked" not in student.get(f"/submissions/{ids[1]}").get_data(as_text=True)
