/*
 * roberta-math "Try it" page: the reader types, a Web Worker (live-worker.js) tokenizes
 * and runs the model, this script draws each stage next to its equation.
 *
 * No framework and no request to any other host: the worker fetches the site's own
 * live-model.json / live-model.bin / live-tokenizer.json. Everything the reader typed is
 * shown with textContent or drawn on a canvas; nothing is ever parsed as HTML.
 *
 * Scheduling: a keystroke is sent to the worker at once when it is idle; while it is busy,
 * keystrokes collapse into one pending text (the newest), sent when the result arrives.
 * So there is no fixed delay, and a fast typist never queues stale work.
 *
 * API for readers and tests: window.robertaMath.classify(text) resolves to
 * {tokens, input_ids, position_ids, logits, probabilities, attentions, labels, label, ...};
 * logits and probabilities are in the order of `labels` (negative, neutral, positive), as
 * `roberta-math predict --json` prints them.
 */
(function () {
  "use strict";

  var root = document.getElementById("rm-tryit");
  if (!root) return;
  var core = window.RobertaMathCore;
  var SVG_ACCENT = [0, 114, 178]; // blue on light pages (Okabe-Ito palette)
  var WARM = [213, 94, 0]; // orange, for negative values
  function dark() {
    return document.body.getAttribute("data-md-color-scheme") === "slate";
  }
  function blue() {
    return dark() ? [86, 180, 233] : SVG_ACCENT; // sky blue on dark pages
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }
  function stage(id) {
    return document.getElementById(id);
  }
  function rgba(c, a) {
    return "rgba(" + c[0] + "," + c[1] + "," + c[2] + "," + Math.max(0, Math.min(1, a)).toFixed(3) + ")";
  }
  var inkCache = null; // the text colour, read once per render (getComputedStyle forces a style pass)
  function fg() {
    if (inkCache === null) inkCache = getComputedStyle(document.body).getPropertyValue("--md-default-fg-color").trim() || "#222";
    return inkCache;
  }
  function fmt(x, digits) {
    return (x >= 0 ? "\u2007" : "") + x.toFixed(digits === undefined ? 4 : digits); // figure space keeps columns aligned
  }
  /** A token as the reader should see it: its text, with spaces and line breaks made visible. */
  function shown(display) {
    return display.replace(/ /g, "\u2423").replace(/\n/g, "\u21b5").replace(/\t/g, "\u21e5").replace(/\r/g, "\u240d");
  }

  // ------------------------------------------------------------------ state

  var manifest = null;
  var worker = null;
  var nextId = 1;
  var waiting = {}; // id -> {resolve, reject}
  var ui = { busy: false, pending: null, seq: 0, result: null, layer: 0, head: 0, temperature: 1.0 };
  var api = { ready: null, classify: null, lastTiming: null, state: ui, workerRequests: 0 };
  window.robertaMath = api;

  /** The model's fitted softmax temperature (calibration.json, exported in the manifest), else 1. */
  function fittedT() { return (manifest && manifest.temperature) || 1.0; }

  // ------------------------------------------------------------------ the controls

  var banner = el("p", "rm-tryit-model", "Loading the model\u2026");
  var presetBox = el("select", "rm-tryit-presets");
  presetBox.setAttribute("aria-label", "Example sentences");
  var textBox = el("textarea", "rm-tryit-text");
  textBox.rows = 3;
  textBox.setAttribute("aria-label", "Your sentence");
  textBox.placeholder = "Type a sentence, e.g. The movie was not bad at all.";
  textBox.spellcheck = false;
  textBox.disabled = true;
  var status = el("p", "rm-tryit-status", "");
  status.setAttribute("aria-live", "polite");
  var notice = el("p", "rm-tryit-notice", "");
  notice.hidden = true;
  var controls = el("div", "rm-tryit-controls");
  var presetLabel = el("label", "rm-control");
  presetLabel.appendChild(el("span", "rm-control-label", "Example"));
  presetLabel.appendChild(presetBox);
  controls.appendChild(presetLabel);
  clear(root);
  root.appendChild(banner);
  root.appendChild(controls);
  root.appendChild(textBox);
  root.appendChild(notice);
  root.appendChild(status);

  // ------------------------------------------------------------------ worker protocol

  function ask(text) {
    var id = nextId++;
    api.workerRequests += 1;
    return new Promise(function (resolve, reject) {
      waiting[id] = { resolve: resolve, reject: reject };
      worker.postMessage({ type: "classify", id: id, text: text });
    });
  }

  /** The public shape of a result: label order, plain arrays. */
  function publicResult(r) {
    var cols = manifest.label_columns;
    var seq = r.input_ids.length;
    var probs = cols.map(function (c) { return r.probabilities[c]; });
    var best = 0;
    for (var i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
    return {
      text: r.text,
      tokens: r.tokens.slice(),
      display: r.display.slice(),
      input_ids: r.input_ids.slice(),
      position_ids: r.position_ids.slice(),
      labels: manifest.labels.slice(),
      logits: cols.map(function (c) { return r.logits[c]; }),
      probabilities: probs,
      label: manifest.labels[best],
      attentions: r.attentions.map(function (layer) {
        return layer.map(function (a) {
          var rows = [];
          for (var q = 0; q < seq; q++) rows.push(Array.from(a.subarray(q * seq, (q + 1) * seq)));
          return rows;
        });
      }),
      truncated: r.truncated,
      full_length: r.full_length,
      prepared: r.prepared,
      model: { name: manifest.model.name, sha256: manifest.model.sha256 },
    };
  }

  api.classify = function (text) {
    if (typeof text !== "string" || !text.trim()) {
      return Promise.reject(new Error("nothing to classify: give some words"));
    }
    return api.ready.then(function () { return ask(text); }).then(publicResult);
  };

  // ------------------------------------------------------------------ typing

  function onInput() {
    ui.seq += 1;
    var request = { seq: ui.seq, text: textBox.value, inputAt: performance.now() };
    if (!request.text.trim()) {
      ui.pending = null;
      showPrompt(request.text.length ? "Only whitespace so far: type some words to see the model read them." : null);
      return;
    }
    if (ui.busy) {
      ui.pending = request; // the newest text wins; older pending text is dropped
      return;
    }
    run(request);
  }

  function run(request) {
    ui.busy = true;
    request.sentAt = performance.now();
    ask(request.text).then(function (r) {
      ui.busy = false;
      request.receivedAt = performance.now();
      if (request.seq === ui.seq || !ui.pending) render(r, request);
      var next = ui.pending;
      ui.pending = null;
      if (next && next.seq > request.seq) run(next);
    }, function (error) {
      ui.busy = false;
      status.textContent = "The model could not run: " + error.message;
      var next = ui.pending;
      ui.pending = null;
      if (next) run(next);
    });
  }

  function showPrompt(message) {
    ui.result = null;
    root.dataset.state = "prompt";
    status.textContent = message || "Type a sentence above, or pick an example, to see each stage below.";
    notice.hidden = true;
    ["rm-tryit-tokens", "rm-tryit-attention", "rm-tryit-head", "rm-tryit-softmax"].forEach(function (id) {
      var node = stage(id);
      if (!node) return;
      clear(node);
      node.appendChild(el("p", "rm-tryit-empty", "Waiting for a sentence."));
    });
    api.lastTiming = null;
  }

  // ------------------------------------------------------------------ drawing each stage

  function render(r, request) {
    ui.result = r;
    inkCache = null;
    root.dataset.state = "result";
    if (r.truncated) {
      notice.textContent = manifest.truncation_notice
        .replace("{n_cut}", "1").replace("{n_texts}", "1").split("{limit}").join(String(manifest.max_tokens)) +
        " (this text has " + r.full_length + " tokens; the page shows the first " + manifest.max_tokens + ")";
      notice.hidden = false;
    } else {
      notice.hidden = true;
    }
    if (r.prepared !== r.text) {
      notice.hidden = false;
      if (!r.truncated) notice.textContent = "";
      notice.appendChild(el("span", "rm-tryit-prepared",
        (r.truncated ? " \u00b7 " : "") + "The model's preprocessing (" + manifest.preprocess + ") turned the text into: " + r.prepared));
    }
    renderTokens(r);
    renderAttention(r);
    renderHead(r);
    renderSoftmax(r);
    var done = performance.now();
    api.lastTiming = {
      seq: request.seq, text: request.text, tokens: r.input_ids.length,
      keystroke_to_probabilities_ms: done - request.inputAt,
      waiting_ms: request.sentAt - request.inputAt, // for the worker to finish the previous text
      worker_round_trip_ms: request.receivedAt - request.sentAt,
      tokenize_ms: r.timing.tokenize_ms, forward_ms: r.timing.forward_ms,
      render_ms: done - request.receivedAt,
    };
    root.dataset.seq = String(request.seq);
    status.textContent = r.input_ids.length + " tokens, computed in your browser in " +
      (r.timing.tokenize_ms + r.timing.forward_ms).toFixed(1) + " ms (tokenizer " + r.timing.tokenize_ms.toFixed(1) +
      " ms, forward pass " + r.timing.forward_ms.toFixed(1) + " ms).";
  }

  function renderTokens(r) {
    var box = stage("rm-tryit-tokens");
    if (!box) return;
    clear(box);
    var table = el("table", "rm-tryit-tokens");
    var rows = [["token", "rm-tok-text"], ["id  x_t", "rm-tok-id"], ["position  \u03c0_t", "rm-tok-pos"]];
    var trs = rows.map(function (spec) {
      var tr = el("tr", spec[1]);
      tr.appendChild(el("th", null, spec[0]));
      return tr;
    });
    for (var t = 0; t < r.input_ids.length; t++) {
      var special = r.display[t] === r.tokens[t] && /^<.*>$/.test(r.tokens[t]);
      var cell = el("td", special ? "rm-tok rm-tok-special" : "rm-tok", special ? r.tokens[t] : shown(r.display[t]));
      cell.dataset.text = special ? "" : r.display[t];
      cell.title = "token " + t + ": " + r.tokens[t];
      trs[0].appendChild(cell);
      trs[1].appendChild(el("td", null, r.input_ids[t]));
      trs[2].appendChild(el("td", null, r.position_ids[t]));
    }
    trs.forEach(function (tr) { table.appendChild(tr); });
    if (r.occlusion) table.appendChild(occlusionRow(r));
    var scroller = el("div", "rm-tryit-scroll");
    scroller.appendChild(table);
    box.appendChild(scroller);
    if (r.occlusion) {
      var column = manifest.label_columns.indexOf(r.occlusion.target);
      box.appendChild(el("p", "rm-tryit-caption",
        "Occlusion \u03c7\u209c: how much the logit of \u201c" + (manifest.labels[column] || "class " + r.occlusion.target) +
        "\u201d drops when token t is replaced by <mask> (green: the token supports the label, red: it speaks against " +
        "it), one extra forward pass per token; see Why this label? Attributions."));
    }
  }

  /** The occlusion scores of the current sentence as a table row, coloured by sign and size. */
  function occlusionRow(r) {
    var tr = el("tr", "rm-tok-occlusion");
    tr.appendChild(el("th", null, "occlusion  \u03c7\u209c"));
    var scores = r.occlusion.scores;
    var largest = 0;
    scores.forEach(function (v) { largest = Math.max(largest, Math.abs(v)); });
    scores.forEach(function (v) {
      var cell = el("td", "rm-occ", (v >= 0 ? "+" : "") + v.toFixed(2));
      cell.dataset.value = String(v);
      var alpha = largest > 0 ? Math.abs(v) / largest * 0.55 : 0;
      cell.style.backgroundColor = (v >= 0 ? "rgba(44, 160, 44, " : "rgba(214, 39, 40, ") + alpha.toFixed(3) + ")";
      tr.appendChild(cell);
    });
    return tr;
  }

  /**
   * A (seq, seq) attention matrix as a heat map on a canvas: cell (q, k) shaded by
   * sqrt(weight) so small weights stay visible. With labels, the token texts go left (queries)
   * and on top (keys); returns the map's offset inside the canvas.
   */
  var scratch = null;

  function drawHeatmap(canvas, matrix, seq, size, labels) {
    var left = 0, top = 0, right = 0;
    var showLabels = labels && seq <= 48;
    if (showLabels) {
      left = 78;
      top = 64;
      right = 34; // the last key labels lean over the right edge
    }
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round((size + left + right) * ratio);
    canvas.height = Math.round((size + top) * ratio);
    canvas.style.width = size + left + right + "px";
    canvas.style.height = size + top + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size + left + right, size + top);
    var cell = size / seq;
    // One pixel per weight in an ImageData, scaled up without smoothing: one draw call, not seq^2.
    var image = new ImageData(seq, seq);
    var colour = blue();
    var px = image.data;
    for (var i = 0; i < seq * seq; i++) {
      var w = matrix[i];
      px[4 * i] = colour[0];
      px[4 * i + 1] = colour[1];
      px[4 * i + 2] = colour[2];
      px[4 * i + 3] = w > 0 ? Math.round(255 * Math.sqrt(Math.min(1, w))) : 0; // sqrt: small weights stay visible
    }
    if (!scratch || scratch.width !== seq) {
      scratch = document.createElement("canvas");
      scratch.width = seq;
      scratch.height = seq;
    }
    scratch.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, left, top, size, size);
    var ink = fg();
    ctx.strokeStyle = ink;
    ctx.globalAlpha = 0.35;
    ctx.strokeRect(left + 0.5, top + 0.5, size - 1, size - 1);
    ctx.globalAlpha = 1;
    if (showLabels) {
      ctx.fillStyle = ink;
      ctx.font = Math.max(8, Math.min(12, cell * 0.8)) + "px monospace";
      ctx.textBaseline = "middle";
      for (var t = 0; t < seq; t++) {
        var text = labels[t].length > 10 ? labels[t].slice(0, 9) + "\u2026" : labels[t];
        ctx.textAlign = "right";
        ctx.fillText(text, left - 4, top + (t + 0.5) * cell); // canvas text: drawn, never parsed
        ctx.save();
        ctx.translate(left + (t + 0.5) * cell, top - 4);
        ctx.rotate(-Math.PI / 3);
        ctx.textAlign = "left";
        ctx.fillText(text, 0, 0);
        ctx.restore();
      }
    }
    return { left: left, top: top };
  }

  function renderAttention(r) {
    var box = stage("rm-tryit-attention");
    if (!box) return;
    clear(box);
    var layers = r.attentions.length, heads = r.attentions[0].length, seq = r.input_ids.length;
    ui.layer = Math.min(ui.layer, layers - 1);
    ui.head = Math.min(ui.head, heads - 1);
    var big = el("div", "rm-tryit-head-view");
    var title = el("p", "rm-tryit-caption", "");
    var canvas = el("canvas", "rm-tryit-map");
    canvas.setAttribute("role", "img");
    var readout = el("p", "rm-tryit-readout", "Point at a cell: row = query token (attending), column = key token (attended to).");
    big.appendChild(title);
    big.appendChild(canvas);
    big.appendChild(readout);
    var labels = r.display.map(function (d, i) {
      return /^<.*>$/.test(r.tokens[i]) && d === r.tokens[i] ? r.tokens[i] : shown(d);
    });
    var width = box.clientWidth || 400;
    var size = Math.max(150, Math.min(width - (seq <= 48 ? 116 : 0), 420));
    var thumb = Math.max(40, Math.min(72, Math.floor((width - 64) / heads) - 10)); // the grid fits a phone
    var offset = { left: 0, top: 0 };
    function drawBig() {
      var m = r.attentions[ui.layer][ui.head];
      title.textContent = "Layer " + (ui.layer + 1) + ", head " + (ui.head + 1) + ": A = softmax(QK\u1d40/\u221ad\u2095)";
      canvas.setAttribute("aria-label", "attention of layer " + (ui.layer + 1) + " head " + (ui.head + 1));
      offset = drawHeatmap(canvas, m, seq, size, labels);
      Array.prototype.forEach.call(grid.querySelectorAll("button"), function (b) {
        b.classList.toggle("rm-active", +b.dataset.layer === ui.layer && +b.dataset.head === ui.head);
      });
    }
    canvas.addEventListener("mousemove", function (event) {
      var rect = canvas.getBoundingClientRect();
      var k = Math.floor((event.clientX - rect.left - offset.left) / size * seq);
      var q = Math.floor((event.clientY - rect.top - offset.top) / size * seq);
      if (q < 0 || k < 0 || q >= seq || k >= seq) return;
      var w = r.attentions[ui.layer][ui.head][q * seq + k];
      readout.textContent = "query " + q + " \u201c" + shown(r.display[q]) + "\u201d \u2192 key " + k + " \u201c" +
        shown(r.display[k]) + "\u201d: " + w.toFixed(4);
    });
    var grid = el("div", "rm-tryit-grid");
    grid.style.gridTemplateColumns = "auto repeat(" + heads + ", 1fr)";
    grid.appendChild(el("span", "rm-grid-corner", ""));
    for (var h = 0; h < heads; h++) grid.appendChild(el("span", "rm-grid-label", "head " + (h + 1)));
    for (var l = 0; l < layers; l++) {
      grid.appendChild(el("span", "rm-grid-label", "layer " + (l + 1)));
      for (h = 0; h < heads; h++) {
        var button = el("button", "rm-grid-cell");
        button.type = "button";
        button.dataset.layer = String(l);
        button.dataset.head = String(h);
        button.setAttribute("aria-label", "layer " + (l + 1) + ", head " + (h + 1));
        var small = el("canvas");
        drawHeatmap(small, r.attentions[l][h], seq, thumb);
        button.appendChild(small);
        button.addEventListener("click", (function (ll, hh) {
          return function () { ui.layer = ll; ui.head = hh; drawBig(); };
        })(l, h));
        grid.appendChild(button);
      }
    }
    var wrap = el("div", "rm-tryit-attention");
    wrap.appendChild(big);
    wrap.appendChild(grid);
    box.appendChild(wrap);
    var tokenLine = el("p", "rm-tryit-caption", "Rows and columns, top to bottom and left to right: ");
    var list = el("span", "rm-tryit-token-list", labels.join(" \u00b7 "));
    tokenLine.appendChild(list);
    box.appendChild(tokenLine);
    drawBig();
  }

  function strip(values, label) {
    var row = el("div", "rm-tryit-vector");
    var max = 0;
    for (var i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
    row.appendChild(el("span", "rm-vec-label", label));
    var canvas = el("canvas", "rm-vec");
    var width = Math.min(values.length * 3, 384), height = 18, ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    var cell = width / values.length;
    for (i = 0; i < values.length; i++) {
      ctx.fillStyle = rgba(values[i] >= 0 ? blue() : WARM, max ? Math.abs(values[i]) / max : 0);
      ctx.fillRect(i * cell, 0, Math.ceil(cell), height);
    }
    row.appendChild(canvas);
    row.appendChild(el("span", "rm-vec-range", "max |value| " + max.toFixed(3)));
    return row;
  }

  function renderHead(r) {
    var box = stage("rm-tryit-head");
    if (!box) return;
    clear(box);
    var d = manifest.config.hidden;
    box.appendChild(strip(r.cls, "h\u2080 (<s>, last layer)"));
    box.appendChild(strip(r.dense, "dense: h\u2080W\u1d40 + b"));
    box.appendChild(strip(r.tanh, "tanh(dense)"));
    var table = el("table", "rm-tryit-logits");
    var head = el("tr");
    ["class", "output column", "logit z"].forEach(function (t) { head.appendChild(el("th", null, t)); });
    table.appendChild(head);
    manifest.labels.forEach(function (name, i) {
      var col = manifest.label_columns[i];
      var tr = el("tr");
      tr.appendChild(el("td", null, name));
      tr.appendChild(el("td", null, col));
      var z = el("td", "rm-logit", fmt(r.logits[col], 4));
      z.dataset.label = name;
      z.dataset.value = String(r.logits[col]);
      tr.appendChild(z);
      table.appendChild(tr);
    });
    box.appendChild(el("p", "rm-tryit-caption", "Each strip has " + d + " cells, blue positive, orange negative, shaded by |value|."));
    box.appendChild(table);
  }

  var slider = el("input", "rm-tryit-slider");
  slider.type = "range";
  slider.min = "-2.3";
  slider.max = "2.3";
  slider.step = "0.01";
  slider.value = "0";
  slider.setAttribute("aria-label", "Temperature (log scale)");
  var tLabel = el("span", "rm-tryit-temperature", "\u03c4 = 1.00");
  slider.addEventListener("input", function () {
    var v = parseFloat(slider.value);
    // snaps to exactly 1, or to the fitted temperature, when the thumb is near either
    ui.temperature = Math.abs(v) < 0.02 ? 1.0 : Math.abs(v - Math.log(fittedT())) < 0.02 ? fittedT() : Math.exp(v);
    if (ui.result) renderSoftmax(ui.result); // only the softmax runs again; the logits are cached
  });

  function renderSoftmax(r) {
    var box = stage("rm-tryit-softmax");
    if (!box) return;
    clear(box);
    var T = ui.temperature;
    tLabel.textContent = "\u03c4 = " + T.toFixed(2) +
      (T === fittedT() && T !== 1 ? " (fitted on the validation split: the probabilities predict prints)"
        : T === 1 ? (fittedT() === 1 ? " (the model's own probabilities)" : " (uncalibrated)") : "");
    var sliderRow = el("label", "rm-tryit-slider-row");
    sliderRow.appendChild(el("span", "rm-control-label", "Temperature"));
    sliderRow.appendChild(slider);
    sliderRow.appendChild(tLabel);
    box.appendChild(sliderRow);
    var K = manifest.config.num_labels;
    var p = core.softmax(r.logits, 1, K, T); // over every output column, as predict does
    var best = 0;
    manifest.label_columns.forEach(function (c, i) { if (p[c] > p[manifest.label_columns[best]]) best = i; });
    var bars = el("div", "rm-tryit-bars");
    manifest.labels.forEach(function (name, i) {
      var value = p[manifest.label_columns[i]];
      var row = el("div", "rm-bar-row" + (i === best ? " rm-best" : ""));
      row.appendChild(el("span", "rm-bar-name", name));
      var track = el("span", "rm-bar-track");
      var fill = el("span", "rm-bar-fill");
      fill.style.width = (100 * value).toFixed(2) + "%";
      track.appendChild(fill);
      row.appendChild(track);
      var number = el("span", "rm-probability", value.toFixed(4));
      number.dataset.label = name;
      number.dataset.value = String(value);
      row.appendChild(number);
      bars.appendChild(row);
    });
    box.appendChild(bars);
    var label = el("p", "rm-tryit-label", "");
    label.appendChild(document.createTextNode("Label: "));
    label.appendChild(el("strong", "rm-label", manifest.labels[best]));
    if (T !== fittedT()) label.appendChild(document.createTextNode(" (the temperature never changes the label, only how sure it looks)"));
    box.appendChild(label);
  }

  // ------------------------------------------------------------------ start

  function start() {
    worker = new Worker(root.dataset.worker);
    worker.onmessage = function (event) {
      var msg = event.data;
      if (msg.type === "occlusion") {
        if (ui.result && ui.result.id === msg.id) {
          ui.result.occlusion = msg;
          api.lastOcclusion = { id: msg.id, target: msg.target, scores: msg.scores.slice(), ms: msg.ms };
          renderTokens(ui.result);
        }
        return;
      }
      if (msg.type === "result" || (msg.type === "error" && msg.id)) {
        var w = waiting[msg.id];
        delete waiting[msg.id];
        if (!w) return;
        if (msg.type === "result") w.resolve(msg);
        else w.reject(new Error(msg.message));
      }
    };
    api.ready = new Promise(function (resolve, reject) {
      worker.addEventListener("message", function once(event) {
        if (event.data.type === "loaded") {
          worker.removeEventListener("message", once);
          resolve(event.data.manifest);
        } else if (event.data.type === "error" && !event.data.id) {
          reject(new Error(event.data.message));
        }
      });
      worker.onerror = function (event) { reject(new Error(event.message || "the worker failed to start")); };
    });
    worker.postMessage({ type: "load", manifest: new URL(root.dataset.manifest, window.location.href).href });
    api.ready.then(function (m) {
      manifest = m;
      ui.temperature = fittedT(); // start where predict scores: softmax(z / T) at the fitted T
      slider.value = String(Math.log(ui.temperature));
      var mb = (m.weights.bytes / 1e6).toFixed(1);
      clear(banner);
      if (m.substituted) {
        banner.classList.add("rm-substituted");
        banner.appendChild(el("strong", null, "This page runs the compact model, not the site's model. "));
        banner.appendChild(document.createTextNode(
          "The site's figures come from " + m.site_model.name + " (sha256 " + m.site_model.sha256.slice(0, 12) + "\u2026, " +
          (m.site_model.float32_bytes / 1e6).toFixed(0) + " MB of float32 weights, too large for a page). Here: "));
      } else {
        banner.appendChild(document.createTextNode("Model: "));
      }
      banner.appendChild(el("code", null, m.model.name));
      banner.appendChild(document.createTextNode(", sha256 "));
      var sha = el("code", "rm-sha", m.model.sha256);
      banner.appendChild(sha);
      banner.appendChild(document.createTextNode(" \u00b7 " + (m.model.parameters / 1e6).toFixed(2) + "M parameters, " + mb +
        " MB of weights, all computed on this device; at most " + m.max_tokens + " tokens."));
      presetBox.appendChild(el("option", null, "Choose an example\u2026")).value = "";
      m.presets.forEach(function (text) {
        var option = el("option", null, text);
        option.value = text;
        presetBox.appendChild(option);
      });
      presetBox.addEventListener("change", function () {
        if (!presetBox.value) return;
        textBox.value = presetBox.value;
        onInput();
      });
      textBox.disabled = false;
      textBox.addEventListener("input", function () {
        if (presetBox.value && presetBox.value !== textBox.value) presetBox.value = "";
        onInput();
      });
      root.dataset.ready = "true";
      textBox.value = m.presets[0] || "";
      presetBox.value = textBox.value;
      if (textBox.value) onInput();
      else showPrompt();
    }, function (error) {
      banner.textContent = "The model could not be loaded: " + error.message;
      root.dataset.ready = "error";
    });
  }

  // Material's light/dark toggle: redraw the canvases in the new scheme's colours.
  new MutationObserver(function () {
    if (ui.result) {
      inkCache = null;
      renderAttention(ui.result);
      renderHead(ui.result);
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

  if (!core || typeof Worker === "undefined") {
    banner.textContent = "This page needs JavaScript with Web Workers to run the model.";
    return;
  }
  start();
})();
