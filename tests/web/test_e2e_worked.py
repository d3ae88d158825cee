"""End-to-end: the worked backprop on a submission's page, stepped through with the keyboard
in headless Chromium (fixtures of test_e2e: a fresh app, CSP probe, no console errors)."""

from __future__ import annotations

from tests.web.test_e2e import (  # noqa: F401 - fixtures used by name
    browser,
    need_exercise,
    page,
    pytestmark,
    server,
    shot,
    sign_in,
    submit_form,
)


def test_student_steps_through_the_worked_backprop_with_the_keyboard(page, server):  # noqa: F811
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    answers = {
        "z": "W1 @ x + b1",
        "o": "W2 @ h + b2",
        "dJ_do": "2*(o - y)",
        "dJ_dh": "W2.T @ dJ_do",
        "dJ_dz": "dJ_dh",  # φ′(z) left out: the first wrong part, on the node z
        "dJ_dW1": "dJ_dz @ x.T",  # wrong too, but later
    }
    for part, answer in answers.items():
        page.locator(f"#answer-{part}").fill(answer)
    submit_form(page, base)
    worked = page.locator("#worked")
    worked.wait_for()
    assert worked.locator("svg g.node").count() > 10
    wrong = worked.locator("svg g.node.wrong")
    assert wrong.count() == 1 and wrong.get_attribute("data-id") == "z"
    live = worked.locator(".worked-live")
    assert live.inner_text().startswith("Step 1 of")
    # forward, with the keyboard only: Enter on "Next step", then the arrow keys
    next_button = worked.get_by_role("button", name="Next step ▶")
    next_button.focus()
    page.keyboard.press("Enter")
    assert live.inner_text().startswith("Step 2 of") and "z = (W1 x) + b1" in live.inner_text()
    assert worked.locator("svg g.node.current-result").get_attribute("data-id") == "z"
    page.keyboard.press("ArrowRight")
    assert "h = φ(z)" in live.inner_text()
    assert "Local derivative: ∂h/∂z = diag(φ′(z))" in worked.locator(".worked-step").inner_text()
    page.keyboard.press("ArrowLeft")
    assert live.inner_text().startswith("Step 2 of")
    # backward: Tab to the next buttons and press Space / Enter
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.step") == "backward"
    page.keyboard.press("Space")
    assert "backward: ∂J/∂L through add" in live.inner_text()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.step") == "wrong"
    page.keyboard.press("Enter")
    text = live.inner_text()
    assert "∂J/∂z += ∂J/∂h ⊙ φ′(z)" in text
    assert "Your part dJ_dz first differs from the reference here" in text
    current = worked.locator("svg g.node.current-result")
    assert current.get_attribute("data-id") == "z"
    assert "wrong" in current.get_attribute("class")
    assert worked.locator(".worked-step.at-wrong").count() == 1
    shot(page, "worked-backprop")
