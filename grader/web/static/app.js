// Shared page behaviour: the symbol palette of formula inputs. No inline handlers anywhere.
"use strict";

document.addEventListener("click", function (event) {
  const button = event.target.closest("button.insert");
  if (!button) return;
  const input = document.getElementById(button.dataset.target);
  if (!input) return;
  const text = button.dataset.insert;
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
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
