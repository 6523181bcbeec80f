// math.js against roberta_math.math, function by function, and the exported model stage by stage.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { core, fixture, fixtureBuffer, maxAbsDiff, record } from "./helpers.mjs";

const TOL = 1e-6;
const cases = fixture("math.json");
const measured = {};
after(() => record("math", measured));

function check(name, actual, expected, tol = TOL) {
  const diff = maxAbsDiff(actual, expected);
  measured[name] = Math.max(measured[name] || 0, diff);
  assert.ok(diff <= tol, `${name}: max |JS - Python| = ${diff} > ${tol}`);
}

const lin = (j) => ({ weight: Float64Array.from(j.weight), bias: Float64Array.from(j.bias) });

test("softmax equals roberta_math.math.softmax (masked rows, all-masked row, temperatures)", () => {
  for (const c of cases.softmax) {
    const x = Float64Array.from(c.x.flat().map((v) => (v === null ? -Infinity : v)));
    check("softmax_max_abs_diff", core.softmax(x, c.rows, c.cols, c.temperature), c.expected);
  }
  assert.throws(() => core.softmax(new Float64Array(2), 1, 2, 0), RangeError);
});

test("layerNorm equals layer_norm (incl. a constant row and a large offset)", () => {
  const c = cases.layer_norm;
  check("layer_norm_max_abs_diff", core.layerNorm(c.x, c.rows, c.d, c.gamma, c.beta, c.eps), c.expected);
});

test("erf within 1e-7 of torch.erf and gelu equals gelu", () => {
  check("erf_max_abs_diff", cases.erf.x.map(core.erf), cases.erf.expected, 1e-7);
  check("erf_series_max_abs_diff", cases.erf.x.map(core.erfSeries), cases.erf.expected, 1e-12);
  check("gelu_max_abs_diff", core.gelu(Float64Array.from(cases.gelu.x)), cases.gelu.expected);
  assert.equal(core.erf(0), 0);
  assert.equal(core.erf(-Infinity), -1);
});

test("linear equals linear (X W^T + b)", () => {
  for (const c of cases.linear) {
    check("linear_max_abs_diff", core.linear(c.x, c.rows, c.in, c.weight, c.bias, c.out), c.expected);
  }
});

test("selfAttention equals self_attention (no mask, padding mask, all keys masked)", () => {
  const c = cases.self_attention;
  for (const m of c.cases) {
    const r = core.selfAttention(c.q, c.k, c.v, c.seq_q, c.seq_k, c.dk, c.dv, m.mask);
    check("self_attention_max_abs_diff", r.weights, m.weights);
    check("self_attention_max_abs_diff", r.output, m.output);
  }
});

test("positionIds and robertaEmbeddings equal position_ids_from_input_ids and roberta_embeddings", () => {
  assert.deepEqual(Array.from(core.positionIds(cases.position_ids.ids, 1)), cases.position_ids.expected);
  const c = cases.embeddings;
  const w = { word: c.word, position: c.position, tokenType: c.token_type, lnGamma: c.gamma, lnBeta: c.beta };
  check("embeddings_max_abs_diff", core.robertaEmbeddings(c.ids, w, c.d, c.pad, 1e-5).hidden, c.expected);
});

test("multiHeadAttention equals multi_head_attention with a padding mask", () => {
  const c = cases.multi_head_attention;
  const w = Object.fromEntries(Object.entries(c.weights).map(([k, v]) => [k, lin(v)]));
  const r = core.multiHeadAttention(c.hidden, c.seq, c.d, w, c.heads, c.mask);
  check("multi_head_attention_max_abs_diff", r.output, c.output);
  const all = r.attention.flatMap((a) => Array.from(a));
  check("multi_head_attention_max_abs_diff", all, c.attention);
  // padded keys get exactly zero weight
  for (const a of r.attention) for (let i = 0; i < c.seq; i++) assert.equal(a[i * c.seq + c.seq - 1], 0);
});

test("feedForward equals feed_forward", () => {
  const c = cases.feed_forward;
  check("feed_forward_max_abs_diff", core.feedForward(c.x, c.seq, c.d, c.d_ff, lin(c.up), lin(c.down)), c.expected);
});

test("encoderLayer equals encoder_layer (post-LN) with a padding mask", () => {
  const c = cases.encoder_layer;
  const w = {
    attention: Object.fromEntries(Object.entries(c.attention_weights).map(([k, v]) => [k, lin(v)])),
    attentionLnGamma: c.attention_ln[0], attentionLnBeta: c.attention_ln[1],
    intermediate: lin(c.up), output: lin(c.down), outputLnGamma: c.output_ln[0], outputLnBeta: c.output_ln[1],
  };
  const r = core.encoderLayer(c.hidden, c.seq, c.d, c.d_ff, w, c.heads, c.mask, 1e-5);
  check("encoder_layer_max_abs_diff", r.hidden, c.output);
  check("encoder_layer_max_abs_diff", r.attention.flatMap((a) => Array.from(a)), c.attention);
});

test("classificationHead equals classification_head (reads <s> only)", () => {
  const c = cases.classification_head;
  check("classification_head_max_abs_diff", core.classificationHead(c.hidden, c.d, lin(c.dense), lin(c.out_proj), 3).logits, c.expected);
});

test("occlusion (mask variant) equals roberta_math.interpret.occlusion on the exported model", () => {
  const model = core.modelFromManifest(fixture("live-model.json"), fixtureBuffer("live-model.bin"));
  for (const c of fixture("model.json")) {
    const o = core.occlusion(model, c.ids, c.mask_id, c.special_ids);
    check("occlusion_max_abs_diff", o.scores, c.occlusion, 1e-4);
    c.ids.forEach((id, t) => { if (c.special_ids.includes(id)) assert.equal(o.scores[t], 0); });
  }
});

test("the exported model, stage by stage, equals the Python forward pass", () => {
  const manifest = fixture("live-model.json");
  const model = core.modelFromManifest(manifest, fixtureBuffer("live-model.bin"));
  const d = manifest.config.hidden;
  for (const c of fixture("model.json")) {
    const r = core.forward(model, c.ids);
    assert.deepEqual(Array.from(r.positions), c.positions);
    check("model_embeddings_max_abs_diff", r.embeddings, c.embeddings);
    check("model_attention_max_abs_diff", r.attentions.flatMap((layer) => layer.flatMap((a) => Array.from(a))), c.attentions.flat());
    check("model_last_hidden_max_abs_diff", r.hidden, c.layers[c.layers.length - 1]);
    check("model_dense_max_abs_diff", r.head.dense, c.dense);
    check("model_tanh_max_abs_diff", r.head.tanh, c.tanh);
    check("model_logits_vs_float64_max_abs_diff", r.head.logits, c.logits);
    check("model_logits_vs_transformers_float32_max_abs_diff", r.head.logits, c.logits_float32_transformers, 1e-5);
    check("model_logits_vs_ours_float32_max_abs_diff", r.head.logits, c.logits_float32_ours, 1e-5);
    assert.equal(r.hidden.length, c.ids.length * d);
  }
});
