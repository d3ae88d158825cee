// The worked backprop on a submission's page: draws the computational graph of the student's
// instance as SVG (read-only; variables as squares, operators as circles, as in the graph
// editor) and steps forward through the values and backward through the gradients. The data
// is the section's data-worked JSON, built by grader/services/worked.py; text goes in with
// textContent only. Buttons are native (Enter and Space work), and the arrow keys step while
// the section has focus; each step is announced through an aria-live region.
"use strict";

(function () {
  const root = document.getElementById("worked");
  if (!root || !root.dataset.worked) return;
  const data = JSON.parse(root.dataset.worked);
  const SVG = "http://www.w3.org/2000/svg";
  const STEP_X = 92, STEP_Y = 58, R = 20, PAD = 36;
  const SYMBOLS = { matmul: "@", add: "+", sub: "−", mul: "⊙", div: "÷", phi: "φ", l: "ℓ",
                    norm: "‖·‖", pow: "^", identity: "id", transpose: "ᵀ" };
  const steps = data.steps;
  const wrong = data.wrong;
  let current = 0;

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  function layout(graph) {
    // columns by longest path from the sources; a source sits just left of its first consumer
    const depth = {}, incoming = {}, outgoing = {};
    graph.nodes.forEach(function (n) { depth[n.id] = 0; incoming[n.id] = []; outgoing[n.id] = []; });
    graph.edges.forEach(function (e) { incoming[e[1]].push(e[0]); outgoing[e[0]].push(e[1]); });
    for (let round = 0; round < graph.nodes.length; round++) {
      let changed = false;
      graph.edges.forEach(function (e) {
        if (depth[e[1]] < depth[e[0]] + 1) { depth[e[1]] = depth[e[0]] + 1; changed = true; }
      });
      if (!changed) break;
    }
    graph.nodes.forEach(function (n) {
      if (!incoming[n.id].length && outgoing[n.id].length) {
        depth[n.id] = Math.max(0, Math.min.apply(null, outgoing[n.id].map(function (c) { return depth[c]; })) - 1);
      }
    });
    const rows = {}, place = {};
    let columns = 0, height = 0;
    graph.nodes.forEach(function (n) {
      const d = depth[n.id];
      rows[d] = (rows[d] || 0) + 1;
      place[n.id] = { x: PAD + d * STEP_X, y: PAD + (rows[d] - 1) * STEP_Y };
      columns = Math.max(columns, d + 1);
      height = Math.max(height, rows[d]);
    });
    return { place: place, width: 2 * PAD + (columns - 1) * STEP_X, height: 2 * PAD + (height - 1) * STEP_Y };
  }

  const svg = root.querySelector("svg.worked-graph");
  const shape = layout(data.graph);
  svg.setAttribute("viewBox", "0 0 " + shape.width + " " + shape.height);
  const nodes = {};

  function draw() {
    const defs = el("defs", {});
    const marker = el("marker", { id: "worked-arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
                                  markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z" }));
    defs.append(marker);
    svg.append(defs);
    data.graph.edges.forEach(function (e) {
      const a = shape.place[e[0]], b = shape.place[e[1]];
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      svg.append(el("line", { x1: a.x + dx / len * R, y1: a.y + dy / len * R,
                              x2: b.x - dx / len * (R + 3), y2: b.y - dy / len * (R + 3),
                              class: "edge", "marker-end": "url(#worked-arrow)" }));
    });
    data.graph.nodes.forEach(function (n) {
      const p = shape.place[n.id];
      const g = el("g", { class: "node " + n.type, transform: "translate(" + p.x + "," + p.y + ")",
                          "data-id": n.id });
      const label = n.type === "operator" ? (SYMBOLS[n.label] || n.label) : n.label;
      g.append(n.type === "variable"
        ? el("rect", { x: -R, y: -R * 0.75, width: 2 * R, height: 1.5 * R, rx: 3 })
        : el("circle", { r: R * 0.8 }));
      const text = el("text", { "text-anchor": "middle", dy: "0.35em" });
      text.textContent = label.length > 6 ? label.slice(0, 5) + "…" : label;
      const title = el("title", {});
      title.textContent = n.label + " (" + n.type + ")";
      g.append(text, title);
      if (wrong && wrong.node === n.id) {
        g.classList.add("wrong");
        const mark = el("text", { class: "wrong-mark", x: R - 2, y: -R * 0.75, "text-anchor": "middle" });
        mark.textContent = "✗";
        g.append(mark);
        title.textContent += ": your part " + wrong.part + " first differs here";
      }
      nodes[n.id] = g;
      svg.append(g);
    });
  }

  function table(value) {
    if (typeof value === "string") {
      const span = document.createElement("span");
      span.className = "worked-scalar";
      span.textContent = value;
      return span;
    }
    const t = document.createElement("table");
    t.className = "worked-value";
    value.forEach(function (row) {
      const tr = document.createElement("tr");
      row.forEach(function (cell) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.append(td);
      });
      t.append(tr);
    });
    return t;
  }

  function line(label, text) {
    const p = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = label + " ";
    p.append(strong, document.createTextNode(text));
    return p;
  }

  const panel = root.querySelector(".worked-step");
  const live = root.querySelector(".worked-live");
  const buttons = {};
  root.querySelectorAll("button[data-step]").forEach(function (b) { buttons[b.dataset.step] = b; });
  const firstBackward = steps.findIndex(function (s) { return s.phase === "backward"; });

  function show(index) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    const step = steps[current];
    Object.keys(nodes).forEach(function (id) { nodes[id].classList.remove("current", "current-result"); });
    if (nodes[step.node]) nodes[step.node].classList.add("current");
    if (nodes[step.result]) nodes[step.result].classList.add("current-result");
    const atWrong = wrong && wrong.step === current;
    panel.replaceChildren();
    const heading = document.createElement("h3");
    heading.textContent = "Step " + (current + 1) + " of " + steps.length + " · " +
      (step.phase === "forward" ? "forward: " : "backward: ") + step.title;
    panel.append(heading);
    if (step.local) panel.append(line("Local derivative:", step.local));
    if (step.product) panel.append(line("Chain rule:", step.product));
    const value = document.createElement("div");
    value.className = "worked-values";
    const caption = document.createElement("p");
    caption.textContent = step.phase === "forward" ? "Value on your instance:" : "This contribution:";
    value.append(caption, table(step.value));
    if (step.total) {
      const total = document.createElement("p");
      total.textContent = "The whole gradient once every path has contributed:";
      value.append(total, table(step.total));
    }
    panel.append(value);
    let said = heading.textContent + ". " + (step.product || step.local);
    if (atWrong) {
      const note = document.createElement("p");
      note.className = "worked-wrong-note";
      note.textContent = "Your part " + wrong.part + " first differs from the reference here. " + wrong.feedback;
      panel.append(note);
      said += ". " + note.textContent;
    }
    panel.classList.toggle("at-wrong", Boolean(atWrong));
    live.textContent = said;
    buttons.prev.disabled = current === 0;
    buttons.next.disabled = current === steps.length - 1;
  }

  draw();
  if (!wrong) buttons.wrong.hidden = true;
  if (firstBackward < 0) buttons.backward.hidden = true;
  root.querySelector(".worked-controls").addEventListener("click", function (event) {
    const button = event.target.closest("button[data-step]");
    if (!button) return;
    const go = { first: 0, prev: current - 1, next: current + 1, backward: firstBackward,
                 wrong: wrong ? wrong.step : current }[button.dataset.step];
    show(go);
  });
  root.addEventListener("keydown", function (event) {
    if (event.target.closest("input, textarea, select")) return;
    if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
    if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
  });
  show(0);
})();
