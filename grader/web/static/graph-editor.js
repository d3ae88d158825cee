// Graph editor: variables (squares) and operators (circles) as SVG nodes, as in the chapter; click one node then
// another to connect them, drag to move, select and delete or rename. Every change writes the
// graph JSON {nodes: [{id, label, type}], edges: [[from, to]]} into the hidden answer field and
// the edge list into the textarea; typing in the textarea redraws the graph (keyboard users).
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 640, H = 320, R = 22;  // the smallest canvas; it grows with the graph (sizeCanvas)
  const LAYER_GAP = 95, ROW_GAP = 62, MARGIN_X = 50, MARGIN_Y = 40;

  // Reading a bare label as a variable or an operator, as the server's graph_parse does. The
  // server sends the vocabulary (data-vocabulary): the exercise's names (normalised spelling ->
  // name), Greek spellings, and every operator spelling. Rule: an exercise name is a variable,
  // else an operator spelling is an operator, else a variable.
  const SUBSCRIPTS = { "₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6", "₇": "7",
    "₈": "8", "₉": "9", "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
    "⁷": "7", "⁸": "8", "⁹": "9" };
  const DECORATION = /\\(?:mathbf|boldsymbol|mathrm|bm|vec)\s*/g;

  function Vocabulary(data) {
    this.names = data.names || {};
    this.greek = data.greek || {};
    this.operators = new Set(data.operators || []);
    this.lowered = new Set(Array.from(this.operators, function (s) { return s.toLowerCase(); }));
  }

  Vocabulary.prototype.variableKey = function (label) {
    let text = label.trim().replace(/^\$+|\$+$/g, "").replace(DECORATION, "");
    text = text.replace(/[₀-₉⁰¹²³⁴-⁹]/g, function (c) { return SUBSCRIPTS[c]; });
    text = text.replace(/[\s_^{}()⁽⁾₍₎\[\]]/g, "");
    if (Object.prototype.hasOwnProperty.call(this.names, text)) return this.names[text];
    return Object.prototype.hasOwnProperty.call(this.greek, text) ? this.greek[text] : text;
  };

  Vocabulary.prototype.spelled = function (text) {
    return this.operators.has(text) || (text.length > 1 && this.lowered.has(text.toLowerCase()));
  };

  Vocabulary.prototype.isOperator = function (label) {
    const text = label.trim().replace(/^\$+|\$+$/g, "").replace(DECORATION, "").trim();
    if (this.spelled(text) || text === "^2" || text === "²") return true;
    const match = /^(.*?)\s*([-+]?\d+(?:\.\d+)?)$/.exec(text);
    if (!match || !match[1].trim()) return false;
    const head = match[1].trim();
    return this.spelled(head) || head === "^" || head === "/" || head === "*";
  };

  Vocabulary.prototype.typeOf = function (label) {
    const core = label.split("#")[0].trim() || label;
    const known = Object.values(this.names);
    if (known.includes(this.variableKey(core))) return "variable";
    return this.isOperator(core) ? "operator" : "variable";
  };

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  function Editor(root) {
    this.root = root;
    let data = {};
    try { data = JSON.parse(root.dataset.vocabulary || "{}"); } catch (e) { data = {}; }
    this.vocabulary = new Vocabulary(data);
    this.hidden = root.querySelector("input.graph-json");
    this.text = root.querySelector("textarea.graph-edges");
    this.labelInput = root.querySelector("input.graph-label");
    this.svg = root.querySelector("svg.graph-canvas");
    this.svg.setAttribute("tabindex", "0");
    this.width = W;
    this.height = H;
    this.nodes = [];
    this.edges = [];
    this.selected = null;  // {node: id} or {edge: index}
    this.counter = 0;
    this.drag = null;
    this.load();
    this.bind();
    this.render();
  }

  Editor.prototype.load = function () {
    let graph = null;
    try { graph = this.hidden.value ? JSON.parse(this.hidden.value) : null; } catch (e) { graph = null; }
    if (graph && Array.isArray(graph.nodes) && graph.nodes.length) {
      this.nodes = graph.nodes.map(function (n) {
        return { id: String(n.id), label: String(n.label ?? n.id), type: n.type === "operator" ? "operator" : "variable" };
      });
      const ids = new Set(this.nodes.map(function (n) { return n.id; }));
      this.edges = (graph.edges || []).filter(function (e) { return ids.has(String(e[0])) && ids.has(String(e[1])); })
        .map(function (e) { return [String(e[0]), String(e[1])]; });
      this.counter = this.nodes.length;
      this.layout(this.nodes);
      this.text.value = this.edgeList();
    } else if (this.text.value.trim()) {
      this.fromText(this.text.value);
      this.writeHidden();
    }
  };

  Editor.prototype.bind = function () {
    const self = this;
    this.root.querySelectorAll("button.graph-add").forEach(function (button) {
      button.addEventListener("click", function () { self.add(button.dataset.type); });
    });
    this.root.querySelector("button.graph-delete").addEventListener("click", function () { self.remove(); });
    this.root.querySelector("button.graph-relabel").addEventListener("click", function () { self.relabel(); });
    this.labelInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); self.add(self.vocabulary.typeOf(self.labelInput.value.trim())); }
    });
    this.text.addEventListener("input", function () { self.fromText(self.text.value); self.writeHidden(); self.render(); });
    this.svg.addEventListener("keydown", function (event) {
      if (event.key === "Delete" || event.key === "Backspace") { event.preventDefault(); self.remove(); }
      if (event.key === "Escape") { self.selected = null; self.render(); }
    });
    this.svg.addEventListener("pointermove", function (event) { self.move(event); });
    this.svg.addEventListener("pointerup", function (event) { self.release(event); });
    this.svg.addEventListener("pointerdown", function (event) {
      if (event.target === self.svg) { self.selected = null; self.render(); }
    });
  };

  Editor.prototype.point = function (event) {
    const box = this.svg.getBoundingClientRect();
    return { x: (event.clientX - box.left) * this.width / box.width, y: (event.clientY - box.top) * this.height / box.height };
  };

  Editor.prototype.nodeById = function (id) {
    return this.nodes.find(function (n) { return n.id === id; });
  };

  Editor.prototype.add = function (type) {
    const label = this.labelInput.value.trim();
    if (!label) {
      this.labelInput.focus();
      this.labelInput.setAttribute("aria-invalid", "true");
      this.labelInput.placeholder = "Type a label first, e.g. W1 or matmul";
      return;
    }
    this.labelInput.removeAttribute("aria-invalid");
    this.counter += 1;
    const index = this.nodes.length;
    const node = { id: "n" + this.counter, label: label, type: type,
                   x: 60 + (index % 6) * 100, y: 50 + Math.floor(index / 6) * 70 };
    this.nodes.push(node);
    this.labelInput.value = "";
    this.labelInput.focus();
    this.changed();
  };

  Editor.prototype.remove = function () {
    if (!this.selected) return;
    if (this.selected.node) {
      const id = this.selected.node;
      this.nodes = this.nodes.filter(function (n) { return n.id !== id; });
      this.edges = this.edges.filter(function (e) { return e[0] !== id && e[1] !== id; });
    } else {
      this.edges.splice(this.selected.edge, 1);
    }
    this.selected = null;
    this.changed();
  };

  Editor.prototype.relabel = function () {
    const label = this.labelInput.value.trim();
    if (!this.selected || !this.selected.node || !label) { this.labelInput.focus(); return; }
    this.nodeById(this.selected.node).label = label;
    this.labelInput.value = "";
    this.changed();
  };

  Editor.prototype.press = function (event, node) {
    event.preventDefault();
    event.stopPropagation();
    const p = this.point(event);
    this.drag = { node: node, dx: node.x - p.x, dy: node.y - p.y, moved: false, x0: p.x, y0: p.y };
    this.svg.setPointerCapture(event.pointerId);
  };

  Editor.prototype.move = function (event) {
    if (!this.drag) return;
    const p = this.point(event);
    if (!this.drag.moved && Math.hypot(p.x - this.drag.x0, p.y - this.drag.y0) < 4) return;
    this.drag.moved = true;
    this.drag.node.x = Math.min(this.width - R, Math.max(R, p.x + this.drag.dx));
    this.drag.node.y = Math.min(this.height - R, Math.max(R, p.y + this.drag.dy));
    this.render();
  };

  Editor.prototype.release = function () {
    if (!this.drag) return;
    const drag = this.drag;
    this.drag = null;
    if (!drag.moved) this.clickNode(drag.node);
  };

  Editor.prototype.clickNode = function (node) {
    const current = this.selected && this.selected.node;
    if (current && current !== node.id) {
      const exists = this.edges.some(function (e) { return e[0] === current && e[1] === node.id; });
      if (!exists) this.edges.push([current, node.id]);
      this.selected = null;
      this.changed();
      return;
    }
    this.selected = current === node.id ? null : { node: node.id };
    if (this.selected) this.labelInput.value = node.label;
    this.render();
  };

  Editor.prototype.names = function () {
    // a text name per node: its label, or label#k when several nodes share a label
    const count = {}, seen = {}, names = {};
    this.nodes.forEach(function (n) { count[n.label] = (count[n.label] || 0) + 1; });
    this.nodes.forEach(function (n) {
      seen[n.label] = (seen[n.label] || 0) + 1;
      names[n.id] = count[n.label] > 1 ? n.label + "#" + seen[n.label] : n.label;
    });
    return names;
  };

  Editor.prototype.token = function (node, names) {
    // a bare name when its type is the one guessed from it, else [variable] or (operator)
    const name = names[node.id];
    if (this.vocabulary.typeOf(node.label) === node.type) return name;
    return node.type === "operator" ? "(" + name + ")" : "[" + name + "]";
  };

  Editor.prototype.edgeList = function () {
    const self = this;
    const raw = this.names();
    const names = {};
    this.nodes.forEach(function (n) { names[n.id] = self.token(n, raw); });
    const lines = this.edges.map(function (e) { return names[e[0]] + " -> " + names[e[1]]; });
    const linked = new Set(this.edges.flat());
    this.nodes.forEach(function (n) { if (!linked.has(n.id)) lines.push(names[n.id]); });
    return lines.join("\n");
  };

  Editor.prototype.fromText = function (text) {
    const vocabulary = this.vocabulary;
    const previous = {};
    const names = this.names();
    this.nodes.forEach(function (n) { previous[names[n.id]] = n; });
    const nodes = [], byName = {}, edges = [];
    function node(token) {
      // [x] is a variable, (matmul) an operator, a bare name is guessed (or keeps its type)
      const bracket = /^\[(.+)\]$/.exec(token) || /^\((.+)\)$/.exec(token);
      const name = bracket ? bracket[1].trim() : token;
      const declared = bracket ? (token[0] === "[" ? "variable" : "operator") : null;
      if (!byName[name]) {
        const old = previous[name];
        byName[name] = { id: name, label: name.replace(/#\d+$/, ""),
                         type: declared || (old ? old.type : vocabulary.typeOf(name)),
                         x: old ? old.x : undefined, y: old ? old.y : undefined };
        nodes.push(byName[name]);
      }
      return byName[name];
    }
    text.split(/[\n;]+/).forEach(function (entry) {
      const names = entry.split(/->|→/).map(function (s) { return s.trim(); }).filter(Boolean);
      if (names.length === 1) node(names[0]);
      for (let i = 0; i + 1 < names.length; i++) {
        const a = node(names[i]).id, b = node(names[i + 1]).id;
        if (!edges.some(function (e) { return e[0] === a && e[1] === b; })) edges.push([a, b]);
      }
    });
    this.nodes = nodes;
    this.edges = edges;
    this.selected = null;
    this.layout(nodes.filter(function (n) { return n.x === undefined; }));
  };

  Editor.prototype.layout = function (which) {
    // layers by longest path from the sources (bounded, so a cycle cannot loop forever)
    const depth = {};
    this.nodes.forEach(function (n) { depth[n.id] = 0; });
    for (let round = 0; round < this.nodes.length; round++) {
      let changed = false;
      this.edges.forEach(function (e) {
        if (depth[e[1]] < depth[e[0]] + 1 && depth[e[0]] + 1 < 12) { depth[e[1]] = depth[e[0]] + 1; changed = true; }
      });
      if (!changed) break;
    }
    // one column per layer, one row per node of the layer: the canvas grows to hold them
    // (sizeCanvas) and scrolls inside the page, so nodes never pile up at an edge
    const perLayer = {};
    const taken = new Set(this.nodes.filter(function (n) { return which.indexOf(n) < 0 && n.x !== undefined; })
      .map(function (n) { return Math.round(n.x) + "," + Math.round(n.y); }));
    which.forEach(function (n) {
      const d = depth[n.id];
      let row = perLayer[d] || 0;
      while (taken.has(Math.round(MARGIN_X + d * LAYER_GAP) + "," + Math.round(MARGIN_Y + row * ROW_GAP))) row += 1;
      perLayer[d] = row + 1;
      n.x = MARGIN_X + d * LAYER_GAP;
      n.y = MARGIN_Y + row * ROW_GAP;
      taken.add(Math.round(n.x) + "," + Math.round(n.y));
    });
  };

  Editor.prototype.sizeCanvas = function () {
    // the canvas holds every node with a margin; at least the original 640×320
    let right = W, bottom = H;
    this.nodes.forEach(function (n) {
      right = Math.max(right, n.x + MARGIN_X + R);
      bottom = Math.max(bottom, n.y + MARGIN_Y);
    });
    this.width = Math.ceil(right);
    this.height = Math.ceil(bottom);
    this.svg.setAttribute("viewBox", "0 0 " + this.width + " " + this.height);
    this.svg.setAttribute("width", this.width);
    this.svg.setAttribute("height", this.height);
    this.svg.style.width = this.width + "px";
  };

  Editor.prototype.writeHidden = function () {
    this.hidden.value = this.nodes.length ? JSON.stringify({
      nodes: this.nodes.map(function (n) { return { id: n.id, label: n.label, type: n.type }; }),
      edges: this.edges.map(function (e) { return [e[0], e[1]]; }),
    }) : "";
  };

  Editor.prototype.changed = function () {
    this.writeHidden();
    this.text.value = this.edgeList();
    this.render();
  };

  Editor.prototype.render = function () {
    const self = this;
    const svg = this.svg;
    this.sizeCanvas();
    svg.replaceChildren();
    const defs = el("defs", {});
    const marker = el("marker", { id: "arrow-" + this.root.dataset.part, viewBox: "0 0 10 10", refX: "10", refY: "5",
                                  markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z" }));
    defs.append(marker);
    svg.append(defs);
    this.edges.forEach(function (e, index) {
      const a = self.nodeById(e[0]), b = self.nodeById(e[1]);
      if (!a || !b) return;
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      const x1 = a.x + dx / len * R, y1 = a.y + dy / len * R, x2 = b.x - dx / len * (R + 2), y2 = b.y - dy / len * (R + 2);
      const selected = self.selected && self.selected.edge === index;
      const line = el("line", { x1: x1, y1: y1, x2: x2, y2: y2, class: "edge" + (selected ? " selected" : ""),
                                "marker-end": "url(#arrow-" + self.root.dataset.part + ")" });
      const hit = el("line", { x1: x1, y1: y1, x2: x2, y2: y2, class: "edge-hit" });
      const title = el("title", {});
      title.textContent = a.label + " → " + b.label;
      hit.append(title);
      hit.addEventListener("pointerdown", function (event) {
        event.stopPropagation();
        self.selected = selected ? null : { edge: index };
        self.render();
      });
      svg.append(line, hit);
    });
    this.nodes.forEach(function (n) {
      const selected = self.selected && self.selected.node === n.id;
      const g = el("g", { class: "node " + n.type + (selected ? " selected" : ""), transform: "translate(" + n.x + "," + n.y + ")",
                          "data-id": n.id, "data-label": n.label });
      const shown = n.label.length > 10 ? n.label.slice(0, 9) + "…" : n.label;
      const half = Math.max(R, shown.length * 4 + 8);
      // the chapter's convention: variables are squares, operators are circles
      g.append(n.type === "variable"
        ? el("rect", { x: -half, y: -R * 0.8, width: 2 * half, height: 1.6 * R, rx: 3 })
        : el("ellipse", { rx: half, ry: R }));
      const text = el("text", {});
      text.textContent = shown;
      const title = el("title", {});
      title.textContent = n.label + " (" + n.type + ")";
      g.append(text, title);
      g.addEventListener("pointerdown", function (event) { self.press(event, n); });
      svg.append(g);
    });
  };

  window.GraphVocabulary = Vocabulary;  // for tests that compare the editor with the server
  document.querySelectorAll(".graph-editor").forEach(function (root) { root.graphEditor = new Editor(root); });
})();
