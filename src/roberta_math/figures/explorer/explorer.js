/*
 * roberta-math attention explorer (no framework, no network beyond its own JSON).
 *
 * Every element with class "rm-explorer" and a data-src attribute gets an explorer fed by
 * that JSON (written at build time by roberta_math/figures/explorer/data.py). The page is
 * built with createElement and textContent only: no string from the data is ever parsed as
 * HTML, so a sentence such as "<script>...</script>" is shown as text.
 *
 * Head view: the tokens twice, queries on the left and keys on the right. Hover a query to
 * preview what it attends to, click (or tap) it to keep that selection (again to release);
 * the keys then show their weights. The grid below shows every layer x head of the
 * sentence; click a cell to open that head (the view scrolls back into sight if needed).
 *
 * Attributions: the tokens of the sentence coloured by one method's score of the predicted
 * class (buttons switch between Integrated Gradients, gradient x input, occlusion and attention
 * rollout; the scores are in the JSON, computed at build time by roberta_math.interpret).
 *
 * Nothing above the token list changes size on hover: the text that names the hovered
 * token sits below the list, so a click lands on the token the reader aimed at.
 * The accent colour comes from the stylesheet (--rm-accent-rgb), which sets a lighter
 * one for Material's dark scheme; a scheme switch redraws the view.
 */
(function () {
  "use strict";

  var ROW = 24; // px per token row in the head view
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ACCENT = [0, 114, 178]; // fallback when the stylesheet sets no --rm-accent-rgb

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // matplotlib's viridis at nine stops: the colour map of every attention figure on the site.
  var VIRIDIS = [[68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
    [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37]];

  function viridis(t) {
    var x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(x), VIRIDIS.length - 2);
    var f = x - i;
    var a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (c) { return Math.round(a[c] + f * (b[c] - a[c])); }).join(",") + ")";
  }

  function accentOf(root) {
    var value = getComputedStyle(root).getPropertyValue("--rm-accent-rgb");
    var parts = value ? value.split(",").map(function (x) { return parseFloat(x); }) : [];
    return parts.length === 3 && parts.every(function (x) { return isFinite(x); }) ? parts : ACCENT;
  }

  function rgba(accent, alpha) {
    return "rgba(" + accent[0] + "," + accent[1] + "," + accent[2] + "," + Math.max(0, Math.min(1, alpha)).toFixed(3) + ")";
  }

  // Attribution colours: green raises the predicted class's logit, red lowers it (as on the
  // Attributions page); an unsigned method (rollout) is drawn in the accent colour.
  var SUPPORTS = [44, 160, 44];
  var OPPOSES = [214, 39, 40];

  /** Background of a token with score `score` when the sentence's largest |score| is `top`. */
  function attributionColour(score, top, signed, accent) {
    var share = top > 0 ? Math.max(-1, Math.min(1, score / top)) : 0;
    var rgb = !signed ? accent : (share >= 0 ? SUPPORTS : OPPOSES);
    return rgba(rgb, 0.75 * Math.abs(share));
  }

  // A touch screen cannot hover: its readers are told to tap.
  function canHover() {
    return !(window.matchMedia && window.matchMedia("(hover: none)").matches);
  }

  function select(labelText, options, onChange) {
    var wrap = el("label", "rm-control");
    wrap.appendChild(el("span", "rm-control-label", labelText));
    var box = el("select");
    options.forEach(function (text, i) {
      var option = el("option", null, text);
      option.value = String(i);
      box.appendChild(option);
    });
    box.addEventListener("change", function () { onChange(parseInt(box.value, 10)); });
    wrap.appendChild(box);
    return { wrap: wrap, box: box };
  }

  function Explorer(root, data) {
    this.root = root;
    this.data = data;
    this.example = 0;
    this.layer = data.model.layers - 1;
    this.head = 0;
    this.pinned = null; // query index kept by a click
    this.hover = null; // query index under the pointer
    // [[key, name], ...] in the order of the buttons; older JSON has none
    this.methodNames = {};
    var methods = data.attribution_methods || [];
    methods.forEach(function (pair) { this.methodNames[pair[0]] = pair[1]; }, this);
    this.method = methods.length ? methods[0][0] : null; // attribution method shown
    this.build();
    this.render();
  }

  Explorer.prototype.build = function () {
    var self = this;
    var data = this.data;
    clear(this.root);
    this.root.classList.add("rm-ready");

    var controls = el("div", "rm-controls");
    this.sentenceSelect = select("Sentence", data.examples.map(function (e) { return e.text; }), function (i) {
      self.example = i; self.pinned = null; self.hover = null; self.render();
    });
    var layers = [], heads = [];
    for (var l = 0; l < data.model.layers; l++) layers.push("layer " + (l + 1));
    for (var h = 0; h < data.model.heads; h++) heads.push("head " + (h + 1));
    this.layerSelect = select("Layer", layers, function (i) { self.layer = i; self.render(); });
    this.headSelect = select("Head", heads, function (i) { self.head = i; self.render(); });
    this.sentenceSelect.box.classList.add("rm-sentence-select");
    this.layerSelect.box.classList.add("rm-layer-select");
    this.headSelect.box.classList.add("rm-head-select");
    controls.appendChild(this.sentenceSelect.wrap);
    controls.appendChild(this.layerSelect.wrap);
    controls.appendChild(this.headSelect.wrap);
    this.root.appendChild(controls);

    this.sentence = el("p", "rm-sentence");
    this.root.appendChild(this.sentence);

    this.prediction = el("div", "rm-prediction");
    this.root.appendChild(this.prediction);

    if (this.method !== null) this.buildAttributions();

    // The caption above the list depends on the layer and head only (never on hover).
    this.caption = el("p", "rm-caption rm-view-caption");
    this.root.appendChild(this.caption);

    this.view = el("div", "rm-headview");
    this.queries = el("div", "rm-col rm-queries");
    this.lines = svgEl("svg", { "class": "rm-lines", "aria-hidden": "true" });
    this.keys = el("div", "rm-col rm-keys");
    this.view.appendChild(this.queries);
    this.view.appendChild(this.lines);
    this.view.appendChild(this.keys);
    this.root.appendChild(this.view);

    // What the hovered or selected token attends to: below the list, where a change of
    // height moves nothing the pointer is aiming at.
    this.status = el("p", "rm-caption rm-status");
    this.status.setAttribute("aria-live", "polite");
    this.root.appendChild(this.status);

    this.root.appendChild(el("h3", "rm-grid-title", "All layers and heads of this sentence"));
    this.root.appendChild(el("p", "rm-caption", "Each cell is one head's attention matrix: row i is what token i attends to; " +
      "dark purple is little weight, yellow the most (square-root scale, the same for every cell; " +
      "the colours of the attention figures on the other pages). " +
      (canHover() ? "Click" : "Tap") + " a cell to open it above."));
    this.grid = el("div", "rm-grid");
    this.root.appendChild(this.grid);
  };

  Explorer.prototype.current = function () {
    return this.data.examples[this.example];
  };

  Explorer.prototype.matrix = function () {
    return this.current().attention[this.layer][this.head];
  };

  Explorer.prototype.active = function () {
    return this.hover !== null ? this.hover : this.pinned;
  };

  Explorer.prototype.render = function () {
    this.sentenceSelect.box.value = String(this.example);
    this.layerSelect.box.value = String(this.layer);
    this.headSelect.box.value = String(this.head);
    this.accent = accentOf(this.root);
    this.sentence.textContent = "\u201c" + this.current().text + "\u201d";
    this.renderPrediction();
    this.renderAttributions();
    this.renderTokens();
    this.renderHighlight();
    this.renderGrid();
  };

  Explorer.prototype.renderPrediction = function () {
    clear(this.prediction);
    var p = this.current().prediction;
    if (!p) {
      this.prediction.appendChild(el("span", null, "This model has no classification head."));
      return;
    }
    this.prediction.appendChild(el("span", "rm-prediction-title", "Prediction: "));
    this.prediction.appendChild(el("strong", "rm-prediction-label", p.label));
    var self = this;
    this.data.labels.forEach(function (name) {
      var value = p.probabilities[name];
      var item = el("span", "rm-prob");
      item.setAttribute("data-label", name);
      item.appendChild(el("span", "rm-prob-name", name));
      var bar = el("span", "rm-prob-bar");
      var fill = el("span", "rm-prob-fill");
      fill.style.width = (100 * value).toFixed(1) + "%";
      bar.appendChild(fill);
      item.appendChild(bar);
      item.appendChild(el("span", "rm-prob-value", value.toFixed(4)));
      self.prediction.appendChild(item);
    });
  };

  Explorer.prototype.buildAttributions = function () {
    var self = this;
    this.attr = el("div", "rm-attr");
    this.attr.appendChild(el("p", "rm-attr-title", "Why this label? Each token coloured by its attribution"));
    var buttons = el("div", "rm-attr-methods");
    buttons.setAttribute("role", "group");
    buttons.setAttribute("aria-label", "attribution method");
    this.methodButtons = this.data.attribution_methods.map(function (pair) {
      var key = pair[0];
      var b = el("button", "rm-attr-method", pair[1]);
      b.type = "button";
      b.setAttribute("data-method", key);
      b.addEventListener("click", function () { self.method = key; self.renderAttributions(); });
      buttons.appendChild(b);
      return b;
    });
    this.attr.appendChild(buttons);
    this.attrTokens = el("div", "rm-attr-tokens");
    this.attr.appendChild(this.attrTokens);
    this.attrCaption = el("p", "rm-caption rm-attr-caption");
    this.attr.appendChild(this.attrCaption);
    this.root.appendChild(this.attr);
  };

  Explorer.prototype.renderAttributions = function () {
    if (!this.attr) return;
    var self = this;
    var example = this.current();
    var a = example.attributions;
    clear(this.attrTokens);
    this.attr.hidden = !a;
    if (!a) return;
    this.methodButtons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-method") === self.method ? "true" : "false");
    });
    var scores = a.scores[this.method];
    var signed = this.method !== "rollout";
    var n = scores.length;
    var top = 0;
    for (var t = 1; t < n - 1; t++) top = Math.max(top, Math.abs(scores[t]));
    // <s> and </s> are left out: Integrated Gradients and occlusion give them 0 by construction.
    for (var i = 1; i < n - 1; i++) {
      var chip = el("span", "rm-attr-token");
      chip.setAttribute("data-index", String(i));
      chip.setAttribute("data-score", String(scores[i]));
      chip.setAttribute("title", example.tokens[i] + ": " + scores[i]);
      chip.style.backgroundColor = attributionColour(scores[i], top, signed, this.accent);
      chip.appendChild(el("span", "rm-attr-text", example.display[i]));
      chip.appendChild(el("span", "rm-attr-value", (signed && scores[i] >= 0 ? "+" : "") + scores[i].toFixed(3)));
      this.attrTokens.appendChild(chip);
    }
    var name = this.methodNames[this.method];
    var text = name.charAt(0).toUpperCase() + name.slice(1);
    text += signed
      ? " of the logit of \u201c" + a.label + "\u201d. Green: the token raises that logit; red: it lowers it. "
      : ": no sign and no class, how much of each token reaches <s> through the attention of every layer. ";
    text += "The depth of the colour is the score's share of the largest one in the sentence.";
    if (this.method === "ig" && typeof a.completeness_error === "number") {
      var error = a.completeness_error === 0 ? "0" : a.completeness_error.toExponential(1);
      text += " Completeness: the scores add up to z(x) \u2212 z(baseline) with an error of " + error + " (float32).";
    }
    this.attrCaption.textContent = text;
  };

  Explorer.prototype.renderTokens = function () {
    var self = this;
    var example = this.current();
    clear(this.queries);
    clear(this.keys);
    this.queryNodes = [];
    this.keyNodes = [];
    example.display.forEach(function (text, i) {
      var q = el("button", "rm-token rm-query", text);
      q.type = "button";
      q.setAttribute("data-index", String(i));
      q.setAttribute("title", example.tokens[i] + "  (id " + example.ids[i] + ")");
      q.style.height = ROW + "px";
      q.addEventListener("mouseenter", function () { self.hover = i; self.renderHighlight(); });
      q.addEventListener("mouseleave", function () { self.hover = null; self.renderHighlight(); });
      q.addEventListener("focus", function () { self.hover = i; self.renderHighlight(); });
      q.addEventListener("blur", function () { self.hover = null; self.renderHighlight(); });
      q.addEventListener("click", function () {
        self.pinned = self.pinned === i ? null : i;
        self.hover = null;
        self.renderHighlight();
      });
      self.queries.appendChild(q);
      self.queryNodes.push(q);

      var k = el("div", "rm-token rm-key");
      k.setAttribute("data-index", String(i));
      k.setAttribute("title", example.tokens[i] + "  (id " + example.ids[i] + ")");
      k.style.height = ROW + "px";
      k.appendChild(el("span", "rm-key-text", text));
      k.appendChild(el("span", "rm-weight"));
      self.keys.appendChild(k);
      self.keyNodes.push(k);
    });
    var height = example.display.length * ROW;
    this.lines.setAttribute("height", String(height));
    this.lines.style.height = height + "px"; // themes often set svg { height: auto }
    this.lines.setAttribute("viewBox", "0 0 100 " + height);
    this.lines.setAttribute("preserveAspectRatio", "none");
  };

  Explorer.prototype.renderHighlight = function () {
    var matrix = this.matrix();
    var active = this.active();
    var n = matrix.length;
    clear(this.lines);
    for (var i = 0; i < n; i++) {
      if (active !== null && i !== active) continue;
      for (var j = 0; j < n; j++) {
        var w = matrix[i][j];
        if (w < (active === null ? 0.02 : 0.005)) continue;
        this.lines.appendChild(svgEl("line", {
          x1: 0, y1: (i + 0.5) * ROW, x2: 100, y2: (j + 0.5) * ROW,
          stroke: rgba(this.accent, active === null ? Math.min(1, 1.5 * w) : 0.3 + 0.7 * w),
          "stroke-width": active === null ? 1.5 : 1 + 4 * w,
          "vector-effect": "non-scaling-stroke"
        }));
      }
    }
    for (var q = 0; q < this.queryNodes.length; q++) {
      this.queryNodes[q].classList.toggle("rm-active", q === active);
      this.queryNodes[q].setAttribute("aria-pressed", q === this.pinned ? "true" : "false");
    }
    for (var k = 0; k < this.keyNodes.length; k++) {
      var node = this.keyNodes[k];
      var label = node.querySelector(".rm-weight");
      if (active === null) {
        node.removeAttribute("data-weight");
        node.style.backgroundColor = "";
        label.textContent = "";
      } else {
        var weight = matrix[active][k];
        node.setAttribute("data-weight", weight.toFixed(4));
        node.style.backgroundColor = rgba(this.accent, 0.85 * weight);
        label.textContent = weight.toFixed(4);
      }
    }
    var example = this.current();
    var where = "Layer " + (this.layer + 1) + ", head " + (this.head + 1);
    this.caption.textContent = where + ": each line joins a token on the left (a query) to a token it attends to " +
      "on the right (a key); the stronger the line, the more weight. " +
      (canHover() ? "Hover over a token on the left, or click it to keep it selected."
        : "Tap a token on the left to see its weights; tap it again to release it.");
    if (active === null) {
      this.status.textContent = "No token selected: the lines show every token's attention at once.";
    } else {
      this.status.textContent = where + ": what \u201c" + example.display[active] + "\u201d (token " + active +
        ") attends to; the weights on the right sum to 1.";
    }
  };

  // After a grid cell is picked, bring the head view back into sight (on a phone it is a
  // screen or more above the grid); leave the page alone when it is already visible.
  Explorer.prototype.revealView = function () {
    var rect = this.view.getBoundingClientRect();
    var height = window.innerHeight || document.documentElement.clientHeight;
    if (rect.top >= 0 && rect.top < height * 0.6) return;
    this.caption.scrollIntoView({ block: "start", behavior: "smooth" });
  };

  Explorer.prototype.renderGrid = function () {
    var self = this;
    var example = this.current();
    clear(this.grid);
    var n = example.display.length;
    var cell = Math.max(2, Math.floor(84 / n));
    // Cells shrink to share a narrow screen instead of pushing the last heads out of it.
    this.grid.style.gridTemplateColumns = "auto repeat(" + this.data.model.heads + ", minmax(0, 92px))";
    this.grid.appendChild(el("span", "rm-grid-corner"));
    for (var h = 0; h < this.data.model.heads; h++) this.grid.appendChild(el("span", "rm-grid-head", "head " + (h + 1)));
    example.attention.forEach(function (layer, l) {
      self.grid.appendChild(el("span", "rm-grid-layer", "layer " + (l + 1)));
      layer.forEach(function (matrix, h) {
        var button = el("button", "rm-cell");
        button.type = "button";
        button.setAttribute("data-layer", String(l));
        button.setAttribute("data-head", String(h));
        button.setAttribute("aria-label", "layer " + (l + 1) + ", head " + (h + 1));
        button.setAttribute("title", "layer " + (l + 1) + ", head " + (h + 1));
        if (l === self.layer && h === self.head) button.classList.add("rm-selected");
        var canvas = el("canvas");
        canvas.width = n * cell;
        canvas.height = n * cell;
        var ctx = canvas.getContext("2d");
        if (ctx) {
          for (var i = 0; i < n; i++) {
            for (var j = 0; j < n; j++) {
              ctx.fillStyle = viridis(Math.sqrt(matrix[i][j])); // square root: small weights stay visible
              ctx.fillRect(j * cell, i * cell, cell, cell);
            }
          }
        }
        button.appendChild(canvas);
        button.addEventListener("click", function () { self.layer = l; self.head = h; self.render(); self.revealView(); });
        self.grid.appendChild(button);
      });
    });
  };

  function fail(root, message) {
    clear(root);
    root.appendChild(el("p", "rm-error", message));
  }

  function start(root) {
    var src = root.getAttribute("data-src");
    if (!src) {
      fail(root, "The explorer has no data-src attribute.");
      return;
    }
    root.textContent = "Loading the attention data\u2026";
    fetch(src).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status + " for " + src);
      return response.json();
    }).then(function (data) {
      root.explorer = new Explorer(root, data);
      // Material switches light/dark by an attribute on <body>; the colours follow.
      if (window.MutationObserver) {
        new MutationObserver(function () { root.explorer.render(); })
          .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
      }
    }).catch(function (error) {
      fail(root, "Could not load the attention data (" + error.message + "). Open the site through a web server " +
        "(mkdocs serve, or python -m http.server in the built site), not as a file.");
    });
  }

  function startAll() {
    var roots = document.querySelectorAll(".rm-explorer[data-src]");
    for (var i = 0; i < roots.length; i++) start(roots[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
