// Live preview of answers (formula, memory, shape): POST the text to the page's same-origin preview endpoint
// (session cookie + CSRF header) and show the MathML, or the parse error with its column.
"use strict";

(function () {
  const form = document.querySelector("form[data-preview-url]");
  if (!form) return;
  const url = form.dataset.previewUrl;
  const timers = new Map();
  const latest = new Map();

  function show(input, box, data) {
    box.replaceChildren();
    if (!input.value.trim()) {
      const hint = document.createElement("span");
      hint.className = "muted small";
      hint.textContent = "The preview of your answer appears here.";
      box.append(hint);
      return;
    }
    if (data.valid) {
      // "read as", not a tick: reading an answer says nothing about whether it is right
      const ok = document.createElement("span");
      ok.className = "ok";
      if (data.mathml) {
        ok.textContent = "read as ";
        const math = document.createElement("span");
        math.innerHTML = data.mathml;  // MathML built and escaped by the server's formula renderer
        ok.append(math);
      } else {
        ok.textContent = "read as " + (data.source || "");
      }
      box.append(ok);
      if (data.problem) {
        const problem = document.createElement("div");
        problem.className = "preview-error";
        problem.textContent = "✗ " + data.problem.message;
        box.append(problem);
      }
      return;
    }
    const error = data.error || {};
    const message = document.createElement("div");
    message.className = "preview-error";
    message.textContent = "✗ " + (error.column ? "Column " + error.column + ": " : "") + (error.message || "Cannot read this.");
    box.append(message);
    if (error.column) {
      const caret = document.createElement("pre");
      caret.className = "caret";
      caret.setAttribute("aria-hidden", "true");
      caret.textContent = input.value + "\n" + " ".repeat(Math.max(0, error.column - 1)) + "^";
      box.append(caret);
    }
  }

  function request(input) {
    const box = document.getElementById("preview-" + input.dataset.part);
    const text = input.value;
    latest.set(input, text);
    if (!text.trim()) { show(input, box, { valid: true }); return; }
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.graderCsrfToken() },
      body: JSON.stringify({ part: input.dataset.part, answer: text }),
    })
      .then(function (response) { return response.json(); })
      .then(function (data) { if (latest.get(input) === text) show(input, box, data); })
      .catch(function () {
        if (latest.get(input) === text) show(input, box, { valid: false, error: { message: "The preview is not available right now; you can still submit." } });
      });
  }

  // A part the server refused shows its error once, under the part; the preview takes over
  // (and that error goes) when the student changes the answer.
  function clearServerError(input) {
    if (input.getAttribute("aria-invalid") !== "true") return;
    const error = document.getElementById("error-" + input.dataset.part);
    if (error) error.remove();
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", "prompt-" + input.dataset.part);
    const section = input.closest("section.part");
    if (section) section.classList.remove("has-error");
  }

  for (const input of form.querySelectorAll("input[data-preview]")) {
    input.addEventListener("input", function () {
      clearServerError(input);
      clearTimeout(timers.get(input));
      timers.set(input, setTimeout(function () { request(input); }, 250));
    });
    if (input.value.trim() && input.getAttribute("aria-invalid") !== "true") request(input);
  }
})();
