// The code answer's editor: CodeMirror 6 over each textarea.code, bundled by esbuild into
// grader/web/static/vendor/code-editor.js (`make vendor`). The textarea stays in the form (hidden)
// and receives every change, so the form submits as before and works without script.
// Keyboard: Tab indents; Escape then Tab leaves the editor (CodeMirror's tab focus mode).
// The editor lives in a shadow root: there CodeMirror styles itself with constructed style
// sheets, which the pages' Content-Security-Policy (style-src 'self') allows, where in the
// document it would add <style> elements, which it refuses.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

function attach(textarea) {
  const label = document.querySelector('label[for="' + textarea.id + '"]');
  const hint = document.getElementById(textarea.id + "-keys");
  const attributes = { "aria-label": label ? label.textContent.trim() : "Code", tabindex: "0" };
  if (hint) attributes["aria-description"] = hint.textContent.trim();
  if (textarea.getAttribute("aria-invalid")) attributes["aria-invalid"] = "true";
  const host = document.createElement("div");
  host.className = "code-editor-host";
  const root = host.attachShadow({ mode: "open" });
  const view = new EditorView({
    root: root,
    doc: textarea.value,
    extensions: [
      basicSetup,
      keymap.of([indentWithTab]),
      python(),
      indentUnit.of("    "),
      EditorView.contentAttributes.of(attributes),
      EditorView.theme({
        "&": { border: "1px solid #9aa3b5", borderRadius: "4px", background: "#fff", fontSize: "14px" },
        "&.cm-focused": { outline: "3px solid #f0b400", outlineOffset: "2px" },
        ".cm-scroller": { fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace', minHeight: "16rem" },
      }),
      EditorView.updateListener.of(function (update) {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      }),
    ],
  });
  root.append(view.dom);
  textarea.after(host);
  textarea.hidden = true;
  textarea.closest("form")?.addEventListener("reset", function () {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: textarea.value } });
  });
  if (label) label.addEventListener("click", function () { view.focus(); });
  textarea.codeEditor = view;
}

document.querySelectorAll("textarea.code").forEach(attach);
