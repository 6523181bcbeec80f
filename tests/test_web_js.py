"""The browser's JavaScript (roberta_math/web/) against the Python package, through `node --test`.

Python writes fixtures into a temporary folder: inputs and the outputs of
``roberta_math.math``'s functions (computed in float64 from the same inputs), the
embedded model exported exactly as the site exports it, the Python forward pass at every
stage, and the ids of the model's own tokenizer (``transformers``/``tokenizers``) on every
corpus sentence and on adversarial strings. ``node --test tests/js/`` then checks the
JavaScript against them (``ROBERTA_MATH_JS_FIXTURES`` points it at the folder), and
writes the largest differences it measured to ``results.json``, printed here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from roberta_math import math as rm
from roberta_math.figures import live_model
from roberta_math.math import AttentionWeights, EmbeddingWeights, EncoderLayerWeights, Linear

ROOT = Path(__file__).resolve().parent.parent
JS_TESTS = ROOT / "tests" / "js"

# Strings a tokenizer port gets wrong first: each is tokenized by Python and by JavaScript.
ADVERSARIAL = [
    "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🇫🇷 France",
    "中文测试：我很喜欢这部电影！日本語のテキスト、한국어 문장",
    "e\u0301 vs \u00e9, Zalgo t\u0336\u0352\u0315e\u0337x\u0334t, a\u0308\u0304",
    "spaces:    four, tabs:\t\t\ttwo-three\nnew\n\n\nlines \r\n crlf   ",
    "   leading and trailing   ",
    "\t",
    " ",
    "a" * 3000,
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 20,
    "<s>typed literally</s> and <pad> <unk>, <mask> too, and a\t<mask>",
    "<s><s></s></s><s",
    "<img src=x onerror=alert(1)> <script>alert('x')</script>",
    "I'm, you're, it's, we've, they'll, he'd, I'M SHOUTING'S",
    "numbers 1234567890 ١٢٣ ⅷ ² ½ and 3.14159e-10",
    "nbsp\u00a0here, nel\u0085there, bom\ufeffhere, ideographic\u3000space, thin\u2009space, zwsp\u200bhere",
    "Ω≈ç√∫˜µ≤≥÷ åß∂ƒ©˙∆˚¬…æ œ∑´®†¥¨ˆøπ“‘ ¡™£¢∞§¶•ªº–≠",
    "𝕿𝖍𝖊 𝖖𝖚𝖎𝖈𝖐 𝖇𝖗𝖔𝖜𝖓 🦊 and 𝓯𝓪𝓷𝓬𝔂, 𠀋𠂢 rare CJK",
    "mixed123numbers and words456 _underscores_ --dashes-- ...dots...",
    "ﷺ ﷽ 한글 ᄀᄁ \u0600\u0601 Arabic مرحبا بالعالم עברית",
    "\u200d\u200c\u2060 joiners alone \u200d",
    "x" + " " * 50 + "y",
    "tab\tthen space \t mixed \t\t \n",
    "   ",
]


def _f64(*shape: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def _lin(out_dim: int, in_dim: int, seed: int) -> Linear:
    return Linear(_f64(out_dim, in_dim, seed=seed) * 0.3, _f64(out_dim, seed=seed + 1) * 0.1)


def _plain(x: torch.Tensor) -> list:
    return x.tolist()


def _linear_json(lin: Linear) -> dict:
    return {"weight": _plain(lin.weight.flatten()), "bias": _plain(lin.bias)}


def math_cases() -> dict:
    """Inputs and expected outputs of every function of roberta_math.math that math.js mirrors (float64)."""
    cases: dict = {}
    # softmax: a row with a masked entry, an all-masked row, large logits, three temperatures.
    z = _f64(5, 7, seed=1) * 4
    z[1, 2] = float("-inf")
    z[2, :] = float("-inf")
    z[3, 0] = 1e4
    cases["softmax"] = [
        {"x": [[None if v == float("-inf") else v for v in row] for row in z.tolist()], "rows": 5, "cols": 7,
         "temperature": t, "expected": _plain(rm.softmax(z, dim=-1, temperature=t).flatten())}
        for t in (0.25, 1.0, 3.0)
    ]
    # layer norm: ordinary rows, a constant row (variance 0), large offsets.
    x = _f64(4, 16, seed=2)
    x[1] = 3.0
    x[2] += 1e3
    gamma, beta = _f64(16, seed=3), _f64(16, seed=4)
    cases["layer_norm"] = {"x": _plain(x.flatten()), "rows": 4, "d": 16, "gamma": _plain(gamma), "beta": _plain(beta),
                           "eps": 1e-5, "expected": _plain(rm.layer_norm(x, gamma, beta, 1e-5).flatten())}
    grid = torch.cat([torch.linspace(-10, 10, 4001, dtype=torch.float64), _f64(500, seed=5) * 3])
    cases["gelu"] = {"x": _plain(grid), "expected": _plain(rm.gelu(grid))}
    cases["erf"] = {"x": _plain(grid), "expected": _plain(torch.erf(grid))}
    cases["linear"] = []
    for rows, d_in, d_out in ((3, 5, 4), (4, 6, 3), (1, 9, 7), (6, 128, 130)):  # every blocking remainder of linear()
        x, lin = _f64(rows, d_in, seed=6 + rows), _lin(d_out, d_in, seed=7 + rows)
        cases["linear"].append({"x": _plain(x.flatten()), "rows": rows, "in": d_in, "out": d_out, **_linear_json(lin),
                                "expected": _plain(rm.linear(x, lin).flatten())})
    q, k, v = _f64(5, 4, seed=8), _f64(6, 4, seed=9), _f64(6, 3, seed=10)
    attention = []
    for mask in (None, [1, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0]):
        out, w = rm.self_attention(q, k, v, None if mask is None else torch.tensor(mask))
        attention.append({"mask": mask, "output": _plain(out.flatten()), "weights": _plain(w.flatten())})
    cases["self_attention"] = {"q": _plain(q.flatten()), "k": _plain(k.flatten()), "v": _plain(v.flatten()),
                               "seq_q": 5, "seq_k": 6, "dk": 4, "dv": 3, "cases": attention}
    ids = torch.tensor([[0, 17, 5, 9, 2, 1, 1]])
    cases["position_ids"] = {"ids": ids[0].tolist(), "pad": 1, "expected": rm.position_ids_from_input_ids(ids, 1)[0].tolist()}
    d, d_ff, seq, heads = 8, 12, 7, 2
    emb = EmbeddingWeights(_f64(20, d, seed=11), _f64(10, d, seed=12), _f64(1, d, seed=13), _f64(d, seed=14), _f64(d, seed=15))
    cases["embeddings"] = {"ids": ids[0].tolist(), "d": d, "pad": 1, "word": _plain(emb.word.flatten()),
                           "position": _plain(emb.position.flatten()), "token_type": _plain(emb.token_type.flatten()),
                           "gamma": _plain(emb.ln_gamma), "beta": _plain(emb.ln_beta),
                           "expected": _plain(rm.roberta_embeddings(ids, emb, 1)[0].flatten())}
    hidden = _f64(1, seq, d, seed=16)
    mask = ids.ne(1).long()  # the last two positions are padding
    weights = AttentionWeights(_lin(d, d, 17), _lin(d, d, 19), _lin(d, d, 21), _lin(d, d, 23))
    out, w = rm.multi_head_attention(hidden, weights, heads, mask)
    attn_json = {name: _linear_json(getattr(weights, name)) for name in ("query", "key", "value", "output")}
    common = {"hidden": _plain(hidden.flatten()), "seq": seq, "d": d, "heads": heads, "mask": mask[0].tolist()}
    cases["multi_head_attention"] = {**common, "weights": attn_json, "output": _plain(out.flatten()), "attention": _plain(w.flatten())}
    up, down = _lin(d_ff, d, 25), _lin(d, d_ff, 27)
    cases["feed_forward"] = {"x": _plain(hidden.flatten()), "seq": seq, "d": d, "d_ff": d_ff, "up": _linear_json(up),
                             "down": _linear_json(down), "expected": _plain(rm.feed_forward(hidden, up, down).flatten())}
    layer = EncoderLayerWeights(weights, _f64(d, seed=29), _f64(d, seed=30), up, down, _f64(d, seed=31), _f64(d, seed=32))
    out, w = rm.encoder_layer(hidden, layer, heads, mask)
    cases["encoder_layer"] = {**common, "d_ff": d_ff, "attention_weights": attn_json,
                              "attention_ln": [_plain(layer.attention_ln_gamma), _plain(layer.attention_ln_beta)],
                              "up": _linear_json(up), "down": _linear_json(down),
                              "output_ln": [_plain(layer.output_ln_gamma), _plain(layer.output_ln_beta)],
                              "output": _plain(out.flatten()), "attention": _plain(w.flatten())}
    dense, out_proj = _lin(d, d, 33), _lin(3, d, 35)
    cases["classification_head"] = {"hidden": _plain(hidden.flatten()), "d": d, "dense": _linear_json(dense),
                                    "out_proj": _linear_json(out_proj),
                                    "expected": _plain(rm.classification_head(hidden, dense, out_proj)[0])}
    return cases


def model_cases(loaded, texts: list[str]) -> list[dict]:
    """Every stage of the Python forward pass on the exported float32 weights, in float64 and in float32."""
    from roberta_math.interpret.occlusion import occlusion
    from roberta_math.model.forward import classify_from_scratch
    from roberta_math.model.weights import read_weights

    weights = read_weights(loaded.model)
    cases = []
    for text in texts:
        ids = torch.tensor([loaded.tokenizer(text, truncation=True, max_length=loaded.max_tokens)["input_ids"]])
        emb64 = EmbeddingWeights(*(t.double() for t in weights.embeddings))
        hidden = rm.roberta_embeddings(ids, emb64, weights.padding_idx, weights.layer_norm_eps)
        stages = {"embeddings": _plain(hidden[0].flatten())}
        layers, attentions = [], []
        for layer in weights.layers:
            layer64 = _to_double(layer)
            hidden, probs = rm.encoder_layer(hidden, layer64, weights.num_heads, ids.ne(1).long(), weights.layer_norm_eps)
            layers.append(_plain(hidden[0].flatten()))
            attentions.append(_plain(probs[0].flatten()))
        dense = Linear(weights.head_dense.weight.double(), weights.head_dense.bias.double())
        out = Linear(weights.head_out.weight.double(), weights.head_out.bias.double())
        pre = rm.linear(hidden[:, 0], dense)
        logits64 = rm.classification_head(hidden, dense, out)[0]
        with torch.no_grad():
            logits32 = loaded.model(input_ids=ids).logits[0]  # transformers' own float32 forward
        ours32, _ = classify_from_scratch(loaded.model, ids)
        cases.append({
            "text": text, "ids": ids[0].tolist(), "positions": rm.position_ids_from_input_ids(ids)[0].tolist(),
            **stages, "layers": layers, "attentions": attentions, "dense": _plain(pre[0]), "tanh": _plain(torch.tanh(pre[0])),
            "logits": _plain(logits64), "logits_float32_transformers": _plain(logits32.double()),
            "logits_float32_ours": _plain(ours32[0].double()),
            "occlusion": _plain(occlusion(weights, ids[0], mask_id=loaded.tokenizer.mask_token_id,
                                          special_ids=(loaded.tokenizer.bos_token_id, loaded.tokenizer.eos_token_id)).double()),
            "mask_id": loaded.tokenizer.mask_token_id,
            "special_ids": [loaded.tokenizer.bos_token_id, loaded.tokenizer.eos_token_id],
        })
    return cases


def _to_double(layer: EncoderLayerWeights) -> EncoderLayerWeights:
    def lin(x: Linear) -> Linear:
        return Linear(x.weight.double(), x.bias.double())

    a = layer.attention
    return EncoderLayerWeights(
        AttentionWeights(lin(a.query), lin(a.key), lin(a.value), lin(a.output)),
        layer.attention_ln_gamma.double(), layer.attention_ln_beta.double(), lin(layer.intermediate),
        lin(layer.output), layer.output_ln_gamma.double(), layer.output_ln_beta.double(),
    )


def codepoint_classes() -> str:
    """For every code point of planes 0-3 and 14: how the Rust tokenizer's pre-tokenizer regex classes it.

    'L' (\\p{L}), 'N' (\\p{N}), 'W' (\\s), 'O' (anything else); surrogates are 'S'.
    Probed through the library itself: "a"+c is one piece iff c is a letter, and so on.
    """
    from tokenizers.pre_tokenizers import ByteLevel

    pre = ByteLevel(add_prefix_space=False, use_regex=True).pre_tokenize_str
    out = []
    for cp in [*range(0x40000), *range(0xE0000, 0xF0000)]:
        if 0xD800 <= cp < 0xE000:
            out.append("S")
            continue
        c = chr(cp)
        if len(pre("a" + c)) == 1:
            out.append("L")
        elif len(pre("1" + c)) == 1:
            out.append("N")
        elif len(pre("!" + c)) == 1:
            out.append("O")
        else:
            out.append("W")
    return "".join(out)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory):
    from roberta_math.data.corpus import load_corpus
    from roberta_math.figures.build import EXPLORER_SENTENCES
    from roberta_math.model.loading import load_model

    out = tmp_path_factory.mktemp("js-fixtures")
    loaded = load_model("embedded")
    (out / "math.json").write_text(json.dumps(math_cases()), encoding="utf-8")
    files = live_model.live_files(loaded, EXPLORER_SENTENCES)
    for name, data in files.items():
        (out / name).write_bytes(data)
    long_text = " ".join(["surprisingly wonderful"] * 100)  # cut to 128 tokens
    texts = [*EXPLORER_SENTENCES[:3], ADVERSARIAL[0], long_text]
    (out / "model.json").write_text(json.dumps(model_cases(loaded, texts)), encoding="utf-8")
    corpus = [s.text for s in load_corpus()]
    tokenizer = loaded.tokenizer
    strings = [*ADVERSARIAL, *(a + " " + b for a, b in zip(ADVERSARIAL, ADVERSARIAL[1:]))]
    rows = [{"text": t, "ids": ids} for t, ids in zip(corpus, tokenizer(corpus)["input_ids"], strict=True)]
    (out / "corpus.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    adversarial = [{"text": t, "ids": tokenizer(t)["input_ids"],
                    "truncated": tokenizer(t, truncation=True, max_length=loaded.max_tokens)["input_ids"]} for t in strings]
    (out / "adversarial.json").write_text(json.dumps({"max_tokens": loaded.max_tokens, "cases": adversarial}, ensure_ascii=False),
                                          encoding="utf-8")
    (out / "codepoints.txt").write_text(codepoint_classes(), encoding="ascii")
    from roberta_math.interpret.explain import token_texts

    shown = [{"tokens": tokenizer.convert_ids_to_tokens(row["ids"]), "display": token_texts(tokenizer, row["ids"])}
             for row in adversarial]
    (out / "display.json").write_text(json.dumps(shown, ensure_ascii=False), encoding="utf-8")
    from roberta_math.model.preprocessing import PREPROCESSORS

    samples = ["@bob loved it https://t.co/x @ home", "email@host.org  httpd", "@", " @a\t@b ", "http", "no change"]
    (out / "preprocessing.json").write_text(json.dumps(
        [{"name": name, "text": t, "expected": f(t)} for name, f in PREPROCESSORS.items() for t in samples]), encoding="utf-8")
    return out, len(rows)


def test_corpus_has_every_sentence(fixtures) -> None:
    _, count = fixtures
    assert count == 23_703


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_suite(fixtures) -> None:
    """`node --test tests/js/`: every JS function, the exported model and the tokenizer against Python."""
    folder, _ = fixtures
    env = {**os.environ, "ROBERTA_MATH_JS_FIXTURES": str(folder)}
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no tests/js/*.test.mjs"
    run = subprocess.run(["node", "--test", *files], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    results = {}
    for path in folder.glob("results-*.json"):
        results.update(json.loads(path.read_text()))
    print(json.dumps(results, indent=1))
    assert results.get("corpus_sentences") == 23_703
    assert results.get("gelu_max_abs_diff", 1) < 1e-6


def test_truncation_notice_is_what_predict_prints() -> None:
    """The page's notice is the line `roberta-math predict` prints for a cut text."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    long_text = "good " * 300
    run = subprocess.run([sys.executable, "-m", "roberta_math", "predict", "--json", long_text], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    expected = live_model.truncation_notice_template().format(n_cut=1, n_texts=1, limit=128)
    assert expected in run.stderr.splitlines()


def test_exported_weights_read_back_equal(tmp_path) -> None:
    """live-model.bin, read with the manifest's offsets and shapes, is the state dict bit for bit."""
    from roberta_math.model.loading import load_model

    loaded = load_model("embedded")
    files = live_model.live_files(loaded, ("a",))
    manifest = json.loads(files["live-model.json"])
    data = files["live-model.bin"]
    state = loaded.model.state_dict()
    assert manifest["model"]["sha256"] == loaded.provenance.sha256
    assert manifest["weights"]["bytes"] == len(data)
    assert manifest["max_tokens"] == 128 and manifest["config"]["pad_id"] == 1
    assert manifest["labels"] == ["negative", "neutral", "positive"]
    assert not manifest["substituted"]
    for entry in manifest["tensors"]:
        array = np.frombuffer(data, dtype="<f4", count=entry["length"], offset=entry["offset"]).reshape(entry["shape"])
        assert np.array_equal(array, state[entry["name"]].numpy()), entry["name"]
    exported = {e["name"] for e in manifest["tensors"]}
    assert {k for k, v in state.items() if v.is_floating_point()} == exported


def test_too_large_model_is_replaced_by_the_embedded_one(tmp_path, monkeypatch) -> None:
    """Over MAX_PAGE_BYTES the page gets the embedded model, and the manifest names both."""
    from types import SimpleNamespace

    from roberta_math.figures.build import FigureParams
    from roberta_math.model.loading import load_model

    site = load_model("embedded")
    fake = SimpleNamespace(model=site.model, tokenizer=site.tokenizer, labels=site.labels, label_columns=site.label_columns,
                           max_tokens=site.max_tokens,
                           provenance=site.provenance.__class__("big/model", "hub", 125_000_000, "f" * 64))
    ctx = SimpleNamespace(loaded=lambda: fake, params=FigureParams(), log=lambda message: None)
    manifest = json.loads(live_model.build(ctx)["live-model.json"])
    assert manifest["substituted"] is True
    assert manifest["model"]["name"] == "embedded" and manifest["model"]["sha256"] == site.provenance.sha256
    assert manifest["site_model"]["name"] == "big/model" and manifest["site_model"]["sha256"] == "f" * 64
    monkeypatch.setattr(live_model, "MAX_PAGE_BYTES", 10**12)
    manifest = json.loads(live_model.build(ctx)["live-model.json"])
    assert manifest["substituted"] is False and manifest["model"]["name"] == "big/model"
