/*
 * roberta-math in the browser: RoBERTa's equations, one function each, mirroring
 * roberta_math.math (softmax.py, embeddings.py, linear.py, attention.py, encoder.py,
 * head.py) function by function. tests/js/math.test.mjs checks each against its Python
 * counterpart on fixtures that Python writes at test time.
 *
 * Conventions (the site's, see docs/notation.md): row vectors, y = x W^T + b, W stored
 * (out, in) row-major as PyTorch stores it. A matrix is a flat typed array plus its
 * shape; weights arrive as Float32Array (the exported float32 file), activations are
 * Float64Array (JavaScript numbers are doubles, so the sums are exact to ~1e-16 before
 * being compared with torch's float32).
 *
 * Works as a classic script (window / worker global `RobertaMathCore`) and as a
 * CommonJS module (Node's `require`, used by the tests).
 */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.RobertaMathCore = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // ------------------------------------------------------------------ softmax.py

  /**
   * softmax along the last axis of a (rows, cols) matrix, at temperature T:
   *   p_i = exp((z_i - m)/T) / sum_j exp((z_j - m)/T),  m = max_j z_j / T.
   * A row whose entries are all -Infinity (every key masked) gives all zeros, as in
   * roberta_math.math.softmax. Returns a new Float64Array.
   */
  function softmax(x, rows, cols, temperature) {
    var T = temperature === undefined ? 1.0 : temperature;
    if (!(T > 0)) throw new RangeError("temperature must be > 0, got " + T);
    var out = new Float64Array(rows * cols);
    for (var r = 0; r < rows; r++) {
      var base = r * cols;
      var m = -Infinity;
      for (var j = 0; j < cols; j++) if (x[base + j] / T > m) m = x[base + j] / T;
      if (m === -Infinity) continue; // all masked: zeros
      var total = 0;
      for (j = 0; j < cols; j++) {
        var e = Math.exp(x[base + j] / T - m); // every exponent <= 0
        out[base + j] = e;
        total += e;
      }
      for (j = 0; j < cols; j++) out[base + j] /= total;
    }
    return out;
  }

  // ------------------------------------------------------------------ embeddings.py

  /** RoBERTa's position ids: real tokens count from padding_idx + 1, padding keeps padding_idx. */
  function positionIds(inputIds, paddingIdx) {
    var pad = paddingIdx === undefined ? 1 : paddingIdx;
    var out = new Int32Array(inputIds.length);
    var count = 0;
    for (var t = 0; t < inputIds.length; t++) {
      if (inputIds[t] !== pad) {
        count += 1;
        out[t] = count + pad;
      } else {
        out[t] = pad;
      }
    }
    return out;
  }

  /**
   * LayerNorm of each row of a (rows, d) matrix:
   *   gamma * (x - mu) / sqrt(sigma^2 + eps) + beta, with the biased variance (1/d).
   */
  function layerNorm(x, rows, d, gamma, beta, eps) {
    var epsilon = eps === undefined ? 1e-5 : eps;
    var out = new Float64Array(rows * d);
    for (var r = 0; r < rows; r++) {
      var base = r * d;
      var mean = 0;
      for (var i = 0; i < d; i++) mean += x[base + i];
      mean /= d;
      var variance = 0;
      for (i = 0; i < d; i++) {
        var c = x[base + i] - mean;
        variance += c * c;
      }
      variance /= d;
      var scale = 1 / Math.sqrt(variance + epsilon);
      for (i = 0; i < d; i++) out[base + i] = gamma[i] * (x[base + i] - mean) * scale + beta[i];
    }
    return out;
  }

  /**
   * Embeddings of one sentence: LayerNorm(W_tok[x_t] + W_pos[pi_t] + W_type[0]).
   * weights = {word, position, tokenType, lnGamma, lnBeta} (Float32Array, row-major),
   * d = hidden size. Returns {hidden: Float64Array (seq, d), positions: Int32Array, sum}.
   */
  function robertaEmbeddings(inputIds, weights, d, paddingIdx, eps) {
    var seq = inputIds.length;
    var positions = positionIds(inputIds, paddingIdx);
    var sum = new Float64Array(seq * d);
    for (var t = 0; t < seq; t++) {
      var w = inputIds[t] * d, p = positions[t] * d, o = t * d;
      for (var i = 0; i < d; i++) sum[o + i] = weights.word[w + i] + weights.position[p + i] + weights.tokenType[i];
    }
    return { hidden: layerNorm(sum, seq, d, weights.lnGamma, weights.lnBeta, eps), positions: positions, sum: sum };
  }

  // ------------------------------------------------------------------ linear.py

  /** y = x W^T + b for a (rows, inDim) matrix x; W is (outDim, inDim), b is (outDim,). */
  function linear(x, rows, inDim, W, b, outDim) {
    var out = new Float64Array(rows * outDim);
    var r = 0;
    // Two rows times four output units at a time: each weight read serves two rows, each x
    // value four units (about 1.5x faster than one row at a time in V8).
    for (; r + 1 < rows; r += 2) {
      var xa = r * inDim, xb = xa + inDim, oa = r * outDim, ob = oa + outDim;
      var o = 0;
      for (; o + 3 < outDim; o += 4) {
        var w0 = o * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
        var a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (var i = 0; i < inDim; i++) {
          var u = x[xa + i], v = x[xb + i];
          var p0 = W[w0 + i], p1 = W[w1 + i], p2 = W[w2 + i], p3 = W[w3 + i];
          a0 += u * p0; a1 += u * p1; a2 += u * p2; a3 += u * p3;
          c0 += v * p0; c1 += v * p1; c2 += v * p2; c3 += v * p3;
        }
        var b0 = b ? b[o] : 0, b1 = b ? b[o + 1] : 0, b2 = b ? b[o + 2] : 0, b3 = b ? b[o + 3] : 0;
        out[oa + o] = a0 + b0; out[oa + o + 1] = a1 + b1; out[oa + o + 2] = a2 + b2; out[oa + o + 3] = a3 + b3;
        out[ob + o] = c0 + b0; out[ob + o + 1] = c1 + b1; out[ob + o + 2] = c2 + b2; out[ob + o + 3] = c3 + b3;
      }
      for (; o < outDim; o++) {
        var wb = o * inDim, s = 0, t = 0;
        for (var j = 0; j < inDim; j++) { s += x[xa + j] * W[wb + j]; t += x[xb + j] * W[wb + j]; }
        out[oa + o] = s + (b ? b[o] : 0); out[ob + o] = t + (b ? b[o] : 0);
      }
    }
    for (; r < rows; r++) {
      for (var o2 = 0; o2 < outDim; o2++) {
        var wb2 = o2 * inDim, s2 = 0;
        for (var k = 0; k < inDim; k++) s2 += x[r * inDim + k] * W[wb2 + k];
        out[r * outDim + o2] = s2 + (b ? b[o2] : 0);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ attention.py

  /**
   * Scaled dot-product attention of one head:
   *   A = softmax(Q K^T / sqrt(d_k) + M),  O = A V.
   * Q (seqQ, dk), K (seqK, dk), V (seqK, dv); mask (seqK,) with 1 for a key that may be
   * attended to and 0 for padding (or null). Returns {output (seqQ, dv), weights (seqQ, seqK)}.
   */
  function selfAttention(Q, K, V, seqQ, seqK, dk, dv, mask) {
    var scores = new Float64Array(seqQ * seqK);
    var scale = 1 / Math.sqrt(dk);
    for (var i = 0; i < seqQ; i++) {
      for (var j = 0; j < seqK; j++) {
        if (mask && mask[j] === 0) {
          scores[i * seqK + j] = -Infinity;
          continue;
        }
        var s = 0;
        for (var c = 0; c < dk; c++) s += Q[i * dk + c] * K[j * dk + c];
        scores[i * seqK + j] = s * scale;
      }
    }
    var weights = softmax(scores, seqQ, seqK, 1.0);
    var output = new Float64Array(seqQ * dv);
    for (i = 0; i < seqQ; i++) {
      for (j = 0; j < seqK; j++) {
        var a = weights[i * seqK + j];
        if (a === 0) continue;
        for (c = 0; c < dv; c++) output[i * dv + c] += a * V[j * dv + c];
      }
    }
    return { output: output, weights: weights };
  }

  /** Columns h*dk .. (h+1)*dk of a (seq, d) matrix: head h of split_heads. */
  function headSlice(x, seq, d, h, dk) {
    var out = new Float64Array(seq * dk);
    for (var t = 0; t < seq; t++) for (var c = 0; c < dk; c++) out[t * dk + c] = x[t * d + h * dk + c];
    return out;
  }

  /**
   * Multi-head self-attention of one layer:
   *   head_i = Attention(X W_i^Q, X W_i^K, X W_i^V),  MHA(X) = Concat(head_1..head_h) W^O + b^O.
   * hidden (seq, d); w = {query, key, value, output}, each {weight, bias}; mask (seq,) or null.
   * Returns {output (seq, d), attention: [heads] of Float64Array (seq, seq)}.
   */
  function multiHeadAttention(hidden, seq, d, w, numHeads, mask) {
    if (d % numHeads) throw new RangeError("hidden size " + d + " is not divisible by " + numHeads + " heads");
    var dk = d / numHeads;
    var q = linear(hidden, seq, d, w.query.weight, w.query.bias, d);
    var k = linear(hidden, seq, d, w.key.weight, w.key.bias, d);
    var v = linear(hidden, seq, d, w.value.weight, w.value.bias, d);
    var merged = new Float64Array(seq * d); // merge_heads: head h fills columns h*dk..
    var attention = [];
    for (var h = 0; h < numHeads; h++) {
      var r = selfAttention(headSlice(q, seq, d, h, dk), headSlice(k, seq, d, h, dk), headSlice(v, seq, d, h, dk),
        seq, seq, dk, dk, mask);
      attention.push(r.weights);
      for (var t = 0; t < seq; t++) for (var c = 0; c < dk; c++) merged[t * d + h * dk + c] = r.output[t * dk + c];
    }
    return { output: linear(merged, seq, d, w.output.weight, w.output.bias, d), attention: attention };
  }

  // ------------------------------------------------------------------ encoder.py

  /**
   * erf(x) from its Maclaurin series (|x| < 3) or the continued fraction of erfc (beyond);
   * |error| < 1e-13 against Python's math.erf. Exact but slow (up to ~40 terms): it fills
   * the table that erf below interpolates.
   */
  function erfSeries(x) {
    if (x !== x) return NaN;
    var a = Math.abs(x);
    var sign = x < 0 ? -1 : 1;
    if (a < 3) {
      // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
      var x2 = a * a, term = a, sum = a;
      for (var n = 1; n < 200; n++) {
        term *= -x2 / n;
        var add = term / (2 * n + 1);
        sum += add;
        if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
      }
      return sign * sum * 1.1283791670955126; // 2 / sqrt(pi)
    }
    if (a > 6) return sign; // erfc(6) ~ 2e-17
    // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
    var f = a;
    for (var k = 60; k >= 1; k--) f = a + (k / 2) / f;
    var erfc = Math.exp(-a * a) / 1.7724538509055159 / f;
    return sign * (1 - erfc);
  }

  // erf and its derivative 2/sqrt(pi) exp(-x^2) on a grid of step h = 1/64 over [0, 6];
  // between grid points erf is their cubic Hermite interpolant, whose error is at most
  // h^4/384 times the largest 4th derivative of erf, below 1e-9 (the tests measure it).
  var ERF_STEPS = 64, ERF_MAX = 6, ERF_N = ERF_STEPS * ERF_MAX + 1;
  var ERF_VALUE = new Float64Array(ERF_N), ERF_SLOPE = new Float64Array(ERF_N);
  for (var g = 0; g < ERF_N; g++) {
    var xg = g / ERF_STEPS;
    ERF_VALUE[g] = erfSeries(xg);
    ERF_SLOPE[g] = 1.1283791670955126 * Math.exp(-xg * xg);
  }

  /** erf(x), |error| < 1e-9: the cubic Hermite interpolation of erfSeries on its grid. */
  function erf(x) {
    if (x !== x) return NaN;
    var a = x < 0 ? -x : x;
    if (a >= ERF_MAX) return x < 0 ? -1 : 1;
    var u = a * ERF_STEPS;
    var i = Math.floor(u);
    var t = u - i, h = 1 / ERF_STEPS;
    var t2 = t * t, t3 = t2 * t;
    var y = (2 * t3 - 3 * t2 + 1) * ERF_VALUE[i] + (t3 - 2 * t2 + t) * h * ERF_SLOPE[i] +
      (-2 * t3 + 3 * t2) * ERF_VALUE[i + 1] + (t3 - t2) * h * ERF_SLOPE[i + 1];
    return x < 0 ? -y : y;
  }

  /** GELU, exact (erf) form: x/2 (1 + erf(x / sqrt 2)). Elementwise; returns a new Float64Array. */
  function gelu(x) {
    var out = new Float64Array(x.length);
    for (var i = 0; i < x.length; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] * 0.7071067811865476));
    return out;
  }

  /** FFN(x) = GELU(x W_1^T + b_1) W_2^T + b_2; x (seq, d), W_1 (dFF, d), W_2 (d, dFF). */
  function feedForward(x, seq, d, dFF, intermediate, output) {
    var up = gelu(linear(x, seq, d, intermediate.weight, intermediate.bias, dFF)); // (seq, dFF)
    return linear(up, seq, dFF, output.weight, output.bias, d); // (seq, d)
  }

  /**
   * One post-LN encoder layer:
   *   H' = LayerNorm(H + MHA(H)),  H'' = LayerNorm(H' + FFN(H')).
   * w = {attention: {query, key, value, output}, attentionLnGamma, attentionLnBeta,
   *      intermediate, output, outputLnGamma, outputLnBeta}.
   * Returns {hidden (seq, d), attention: [heads] (seq, seq)}.
   */
  function encoderLayer(hidden, seq, d, dFF, w, numHeads, mask, eps) {
    var mha = multiHeadAttention(hidden, seq, d, w.attention, numHeads, mask);
    var residual = new Float64Array(seq * d);
    for (var i = 0; i < residual.length; i++) residual[i] = hidden[i] + mha.output[i];
    var h1 = layerNorm(residual, seq, d, w.attentionLnGamma, w.attentionLnBeta, eps);
    var ffn = feedForward(h1, seq, d, dFF, w.intermediate, w.output);
    for (i = 0; i < residual.length; i++) residual[i] = h1[i] + ffn[i];
    return { hidden: layerNorm(residual, seq, d, w.outputLnGamma, w.outputLnBeta, eps), attention: mha.attention };
  }

  // ------------------------------------------------------------------ head.py

  /**
   * The classification head on <s> (row 0 of the last hidden state):
   *   z = tanh(h_0 W_dense^T + b_dense) W_out^T + b_out.
   * Returns {first (d,), dense (d,), tanh (d,), logits (numLabels,)}: every stage, for the page.
   */
  function classificationHead(hidden, d, dense, outProj, numLabels) {
    var first = hidden.slice(0, d);
    var pre = linear(first, 1, d, dense.weight, dense.bias, d);
    var act = new Float64Array(d);
    for (var i = 0; i < d; i++) act[i] = Math.tanh(pre[i]);
    return { first: first, dense: pre, tanh: act, logits: linear(act, 1, d, outProj.weight, outProj.bias, numLabels) };
  }

  // ------------------------------------------------------------------ model/forward.py

  /**
   * The whole classifier on one sentence (classify_from_scratch): embeddings, every
   * encoder layer, the head. model = {config: {hidden, layers, heads, intermediate,
   * padId, eps, numLabels}, embeddings, layers: [...], head: {dense, outProj}}.
   * Returns every stage the page shows.
   */
  function forward(model, inputIds) {
    var cfg = model.config;
    var seq = inputIds.length, d = cfg.hidden;
    var mask = new Uint8Array(seq);
    for (var t = 0; t < seq; t++) mask[t] = inputIds[t] !== cfg.padId ? 1 : 0;
    var emb = robertaEmbeddings(inputIds, model.embeddings, d, cfg.padId, cfg.eps);
    var hidden = emb.hidden;
    var attentions = [];
    for (var l = 0; l < model.layers.length; l++) {
      var out = encoderLayer(hidden, seq, d, cfg.intermediate, model.layers[l], cfg.heads, mask, cfg.eps);
      hidden = out.hidden;
      attentions.push(out.attention);
    }
    var head = classificationHead(hidden, d, model.head.dense, model.head.outProj, cfg.numLabels);
    return { positions: emb.positions, embeddings: emb.hidden, hidden: hidden, attentions: attentions, head: head };
  }

  // ------------------------------------------------------------------ interpret/occlusion.py

  /**
   * Leave-one-out occlusion, the "mask" variant of roberta_math.interpret.occlusion:
   *   chi_t = z_c(x) - z_c(x with token t replaced by <mask>),
   * for every token whose id is not in specialIds (those score 0), with c = target, or the
   * column of the largest logit. One forward pass per occluded token.
   */
  function occlusion(model, inputIds, maskId, specialIds, target) {
    var base = forward(model, inputIds).head.logits;
    var c = target;
    if (c === undefined || c === null) {
      c = 0;
      for (var k = 1; k < base.length; k++) if (base[k] > base[c]) c = k;
    }
    var scores = new Float64Array(inputIds.length);
    for (var t = 0; t < inputIds.length; t++) {
      if (specialIds.indexOf(inputIds[t]) >= 0) continue;
      var ids = inputIds.slice();
      ids[t] = maskId;
      scores[t] = base[c] - forward(model, ids).head.logits[c];
    }
    return { target: c, scores: scores };
  }

  // ------------------------------------------------------------------ model/weights.py

  /**
   * The model from the exported manifest (live-model.json) and the float32 little-endian
   * weights (an ArrayBuffer): every tensor is a Float32Array view on the buffer, found by
   * its state-dict name, as roberta_math.model.weights.read_weights collects them.
   */
  function modelFromManifest(manifest, buffer) {
    var byName = {};
    var littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    manifest.tensors.forEach(function (t) {
      var view;
      if (littleEndian && t.offset % 4 === 0) {
        view = new Float32Array(buffer, t.offset, t.length);
      } else { // a big-endian machine reads the little-endian floats one by one
        var dv = new DataView(buffer, t.offset, t.length * 4);
        view = new Float32Array(t.length);
        for (var i = 0; i < t.length; i++) view[i] = dv.getFloat32(i * 4, true);
      }
      byName[t.name] = view;
    });
    function get(name) {
      if (!(name in byName)) throw new Error("live-model.bin has no tensor " + name);
      return byName[name];
    }
    function lin(prefix) {
      return { weight: get(prefix + ".weight"), bias: get(prefix + ".bias") };
    }
    var c = manifest.config;
    var e = "roberta.embeddings.";
    var layers = [];
    for (var l = 0; l < c.layers; l++) {
      var p = "roberta.encoder.layer." + l + ".";
      layers.push({
        attention: {
          query: lin(p + "attention.self.query"),
          key: lin(p + "attention.self.key"),
          value: lin(p + "attention.self.value"),
          output: lin(p + "attention.output.dense"),
        },
        attentionLnGamma: get(p + "attention.output.LayerNorm.weight"),
        attentionLnBeta: get(p + "attention.output.LayerNorm.bias"),
        intermediate: lin(p + "intermediate.dense"),
        output: lin(p + "output.dense"),
        outputLnGamma: get(p + "output.LayerNorm.weight"),
        outputLnBeta: get(p + "output.LayerNorm.bias"),
      });
    }
    return {
      config: { hidden: c.hidden, layers: c.layers, heads: c.heads, intermediate: c.intermediate,
                padId: c.pad_id, eps: c.eps, numLabels: c.num_labels },
      embeddings: {
        word: get(e + "word_embeddings.weight"),
        position: get(e + "position_embeddings.weight"),
        tokenType: get(e + "token_type_embeddings.weight"),
        lnGamma: get(e + "LayerNorm.weight"),
        lnBeta: get(e + "LayerNorm.bias"),
      },
      layers: layers,
      head: { dense: lin("classifier.dense"), outProj: lin("classifier.out_proj") },
    };
  }

  return {
    softmax: softmax,
    positionIds: positionIds,
    layerNorm: layerNorm,
    robertaEmbeddings: robertaEmbeddings,
    linear: linear,
    selfAttention: selfAttention,
    multiHeadAttention: multiHeadAttention,
    erf: erf,
    erfSeries: erfSeries,
    gelu: gelu,
    feedForward: feedForward,
    encoderLayer: encoderLayer,
    classificationHead: classificationHead,
    forward: forward,
    occlusion: occlusion,
    modelFromManifest: modelFromManifest,
  };
});
