"""The results page shows formula answers as MathML and code outputs as a table."""

from sqlalchemy import select

from grader.extensions import db
from grader.models import Submission, User
from grader.services.exercises import current_version, import_exercises
from grader.services.grading import submit
from tests.conftest import EXERCISES


def _student(app):
    return db.session.scalar(select(User).where(User.email == "student@example.org"))


def test_formula_answer_is_shown_as_mathml(imported, student):
    with imported.app_context():
        import_exercises([EXERCISES / "backprop-bias.yaml"])
        row, _ = submit("backprop-bias", _student(imported), {"dJ_db2": "2(o - y)"}, "web")
        sid = row.id
    html = student.get(f"/submissions/{sid}").get_data(as_text=True)
    part = html[html.index('id="part-dJ_db2"') :]
    assert '<span class="answer-math"><math' in part.split("</section>")[0]
    assert "2(o - y)" in part  # the text as typed stays beside it


def test_unreadable_formula_is_not_rendered(imported, student):
    from grader.services.exercises import spec_of
    from grader.web.markdown import answers_mathml

    with imported.app_context():
        import_exercises([EXERCISES / "backprop-bias.yaml"])
        spec = spec_of(current_version("backprop-bias"))
        rendered = answers_mathml(spec, {"dJ_db2": "2(o - y", "dJ_do": "<script>", "z": "W1 x"})
    assert set(rendered) == {"z"}


def test_code_outputs_are_a_table(imported, student):
    with imported.app_context():
        import_exercises([EXERCISES / "backprop-code.yaml"])
        version = current_version("backprop-code")
        outputs = {
            "W1": {"verdict": "correct", "message": ""},
            "b1": {"verdict": "wrong-values", "message": "b1: off by a factor of 2."},
        }
        row = Submission(
            user_id=_student(imported).id,
            exercise_version_id=version.id,
            answers={"code": "def backward(): pass"},
            seed=1,
            status="graded",
            score=2,
            max_score=4,
            source="web",
            parts=[
                {
                    "id": "code",
                    "score": 2,
                    "max_score": 4,
                    "correct": False,
                    "feedback": "2 of 4 outputs correct.",
                    "status": "graded",
                    "diagnosis": "factor:2",
                    "details": {"outputs": outputs},
                }
            ],
        )
        db.session.add(row)
        db.session.commit()
        sid = row.id
    html = student.get(f"/submissions/{sid}").get_data(as_text=True)
    table = html[html.index('<table class="outputs">') : html.index("</table>")]
    assert "<code>W1</code>" in table and "✓ correct" in table
    assert "✗ wrong values" in table and "off by a factor of 2" in table
