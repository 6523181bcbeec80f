/*
 * roberta-math in the browser: the Web Worker that tokenizes and runs the forward pass,
 * so that typing never waits for the arithmetic.
 *
 * Messages in:  {type: "load", manifest: URL}            (once)
 *               {type: "classify", id, text}
 * Messages out: {type: "loaded", manifest} | {type: "error", id?, message}
 *               {type: "result", id, text, ...every stage, timing}
 *               {type: "occlusion", id, target, scores, ms}  (after each result)
 * Everything it fetches is the site's own files, next to this script.
 */
/* global importScripts, RobertaMathCore, RobertaTokenizer */
importScripts("live-math.js", "live-tokenizer.js");

var state = null;

function fetchOk(url, kind) {
  return fetch(url).then(function (response) {
    if (!response.ok) throw new Error("cannot load " + url + " (HTTP " + response.status + ")");
    return kind === "json" ? response.json() : response.arrayBuffer();
  });
}

function load(manifestUrl) {
  var base = new URL(manifestUrl, self.location.href);
  return fetchOk(base.href, "json").then(function (manifest) {
    return Promise.all([
      fetchOk(new URL(manifest.weights.file, base).href, "buffer"),
      fetchOk(new URL(manifest.tokenizer, base).href, "json"),
    ]).then(function (files) {
      if (files[0].byteLength !== manifest.weights.bytes) {
        throw new Error("live-model.bin has " + files[0].byteLength + " bytes, the manifest says " + manifest.weights.bytes);
      }
      state = {
        manifest: manifest,
        model: RobertaMathCore.modelFromManifest(manifest, files[0]),
        tokenizer: new RobertaTokenizer.Tokenizer(files[1]),
      };
      return manifest;
    });
  });
}

/** One sentence through the tokenizer and the model; every stage the page shows. */
function classify(text) {
  var t0 = performance.now();
  var m = state.manifest;
  var prepared = RobertaTokenizer.preprocess(text, m.preprocess); // as score_texts does before tokenizing
  var encoded = state.tokenizer.encode(prepared, m.max_tokens);
  var t1 = performance.now();
  var out = RobertaMathCore.forward(state.model, encoded.ids);
  // softmax(z / T) with the model's fitted temperature T (manifest.temperature), as score_texts does
  var probabilities = RobertaMathCore.softmax(out.head.logits, 1, m.config.num_labels, m.temperature || 1.0);
  var t2 = performance.now();
  return {
    prepared: prepared,
    tokens: encoded.tokens,
    display: encoded.tokens.map(RobertaTokenizer.displayToken),
    input_ids: encoded.ids,
    position_ids: Array.from(out.positions),
    truncated: encoded.truncated,
    full_length: encoded.fullLength,
    cls: out.head.first,
    dense: out.head.dense,
    tanh: out.head.tanh,
    logits: out.head.logits, // in the model's column order
    probabilities: probabilities, // softmax over every column at the fitted temperature
    attentions: out.attentions, // [layer][head] Float64Array (seq, seq)
    timing: { tokenize_ms: t1 - t0, forward_ms: t2 - t1 },
  };
}

var loading = null;

self.onmessage = function (event) {
  var msg = event.data;
  if (msg.type === "load") {
    loading = load(msg.manifest).then(function (manifest) {
      self.postMessage({ type: "loaded", manifest: manifest });
    }, function (error) {
      self.postMessage({ type: "error", message: String(error && error.message ? error.message : error) });
    });
    return;
  }
  if (msg.type === "classify") {
    (loading || Promise.reject(new Error("the worker was not told which model to load"))).then(function () {
      if (!state) throw new Error("the model did not load");
      var result = classify(msg.text);
      result.type = "result";
      result.id = msg.id;
      result.text = msg.text;
      self.postMessage(result);
      // Then the occlusion view: one more forward pass per token, sent when ready so the
      // probabilities never wait for it.
      var t0 = performance.now();
      var tok = state.tokenizer;
      var maskId = tok.vocab.has("<mask>") ? tok.vocab.get("<mask>") : 4;
      var o = RobertaMathCore.occlusion(state.model, result.input_ids, maskId, [tok.bos, tok.eos]);
      self.postMessage({ type: "occlusion", id: msg.id, target: o.target, scores: Array.from(o.scores),
                         ms: performance.now() - t0 });
    }).catch(function (error) {
      self.postMessage({ type: "error", id: msg.id, message: String(error && error.message ? error.message : error) });
    });
  }
};
