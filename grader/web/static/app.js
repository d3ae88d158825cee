// Shared page behaviour: the symbol palette of formula inputs. No inline handlers anywhere.
"use strict";

document.addEventListener("click", function (event) {
  const button = event.target.closest("button.insert");
  if (!button) return;
  const input = document.getElementById(button.dataset.target);
  if (!input) return;
  let text = button.dataset.insert;
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  // a name or a call glued to the name before it would read as one unknown name (xλ, hφ(z))
  if (/^(?!\p{Lm})[\p{L}_]/u.test(text) && /[\p{L}\p{N}_'ᵀ)\]]$/u.test(input.value.slice(0, start))) text = " " + text;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  // put the caret inside brackets that were just inserted empty: norm() -> norm(|)
  const caret = text.endsWith("()") ? start + text.length - 1 : start + text.length;
  input.focus();
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
});

window.graderCsrfToken = function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
};

// The answer form: Enter in a part's field moves to the next part instead of submitting every
// part; submitting with blank parts asks first (a dialog naming them, with a way back).
(function () {
  const form = document.querySelector("form.answers");
  if (!form) return;
  const parts = Array.from(form.querySelectorAll("section.part"));

  function firstField(section) {
    return section.querySelector("input[type=text], input[type=radio], input[type=checkbox], textarea, .cm-content");
  }

  function isBlank(section) {
    const fields = section.querySelectorAll("[name^='answer-'], [name^='edges-']");
    return !Array.from(fields).some(function (field) {
      if (field.type === "checkbox" || field.type === "radio") return field.checked;
      return field.value.trim() !== "";
    });
  }

  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing || event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return;
    const field = event.target;
    if (!(field instanceof HTMLInputElement) || field.type === "submit" || field.type === "button") return;
    if (field.classList.contains("graph-label")) return;  // the graph editor adds a node on Enter
    event.preventDefault();
    const section = field.closest("section.part");
    const next = parts[parts.indexOf(section) + 1];
    const target = next ? firstField(next) : form.querySelector("button[type=submit]");
    if (target) target.focus();
  });

  const dialog = document.getElementById("confirm-blank");
  let confirmed = false;
  form.addEventListener("submit", function (event) {
    if (confirmed || !dialog || typeof dialog.showModal !== "function") return;
    const blank = parts.filter(isBlank);
    if (!blank.length || blank.length === parts.length) return;  // all blank: the server says so
    event.preventDefault();
    const list = dialog.querySelector("ul");
    list.replaceChildren();
    blank.forEach(function (section) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#" + section.id;
      link.textContent = section.querySelector("h2").firstChild.textContent.trim();
      link.addEventListener("click", function (e) {
        e.preventDefault();
        dialog.close();
        const target = firstField(section);
        section.scrollIntoView();
        if (target) target.focus();
      });
      item.append(link);
      list.append(item);
    });
    dialog.querySelector(".blank-count").textContent = String(blank.length);
    dialog.showModal();
  });
  if (dialog) {
    dialog.querySelector("button.confirm-submit").addEventListener("click", function () {
      confirmed = true;
      dialog.close();
      form.requestSubmit();
    });
    dialog.querySelector("button.confirm-cancel").addEventListener("click", function () {
      dialog.close();
      const first = parts.find(isBlank);
      if (first && firstField(first)) firstField(first).focus();
    });
  }
})();

// A refused form: focus moves to the error summary; its links put the caret in the part's field.
(function () {
  const summary = document.getElementById("error-summary");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", function (event) {
    const link = event.target.closest("a[href^='#']");
    if (!link) return;
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    const section = document.getElementById(link.dataset.section) || target;
    section.scrollIntoView();
    target.focus();
  });
})();
