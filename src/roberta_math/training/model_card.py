"""The model card (Markdown) written next to the embedded model, from its metrics and log."""

from __future__ import annotations

from typing import Any

from roberta_math.data.corpus import DOMAINS

_DOMAIN_NAMES = {
    "tweets": "Tweets",
    "movie_reviews": "Movie reviews",
    "amazon_reviews": "Amazon reviews",
    "nyt_editorials": "NYT editorials",
    "overall": "**All four**",
}


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(metrics: dict[str, Any]) -> str:
    """The per-domain test table: model accuracy, macro-F1, r, and VADER on the same sentences.

    >>> row = {"n": 2, "accuracy": 0.5, "macro_f1": 0.4, "pearson_r": 0.3}
    >>> print(metrics_table({"test": {"overall": row}, "vader_test": {"overall": row}}).splitlines()[2])
    | **All four** | 2 | 0.500 | 0.400 | 0.300 | 0.500 | 0.400 | 0.300 |
    """
    lines = [
        "| Test split | n | accuracy | macro-F1 | r | VADER accuracy | VADER macro-F1 | VADER r |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for domain in [*DOMAINS, "overall"]:
        if domain not in metrics["test"]:
            continue
        m, v = metrics["test"][domain], metrics["vader_test"][domain]
        cells = [m["n"], m["accuracy"], m["macro_f1"], m["pearson_r"], v["accuracy"], v["macro_f1"], v["pearson_r"]]
        lines.append(f"| {_DOMAIN_NAMES[domain]} | " + " | ".join(_fmt(c) for c in cells) + " |")
    return "\n".join(lines)


def _curve_summary(log: dict[str, Any]) -> str:
    lines = []
    for name, title in (("finetune_pretrained", "after masked-LM pre-training"),
                        ("finetune_from_scratch", "from random weights")):
        stage = log["stages"].get(name)
        if not stage:
            continue
        accs = ", ".join(f"{e['validation']['accuracy']:.3f}" for e in stage["epochs"])
        f1s = ", ".join(f"{e['validation']['macro_f1']:.3f}" for e in stage["epochs"])
        lines.append(f"- Fine-tuning {title}: validation accuracy per epoch {accs}; macro-F1 {f1s} "
                     f"(best epoch {stage['best_epoch']}, {stage['wall_seconds']:.0f} s).")
    pre = log["stages"].get("pretrain")
    if pre:
        first, last = pre["epochs"][0], pre["epochs"][-1]
        lines.insert(0, f"- Masked-LM pre-training, {len(pre['epochs'])} epochs ({pre['wall_seconds']:.0f} s): "
                        f"validation masked-token accuracy {first['validation_mlm_accuracy']:.3f} after epoch 1, "
                        f"{last['validation_mlm_accuracy']:.3f} after the last.")
    return "\n".join(lines)


def _tfidf_sentence(metrics: dict[str, Any]) -> str:
    tfidf = metrics.get("tfidf_logreg_test", {}).get("overall")
    if not tfidf:
        return ""
    return (f" For scale, a TF-IDF word and character n-gram logistic regression fitted on the same"
            f" training split (fixed settings, no tuning) reaches accuracy {tfidf['accuracy']:.3f},"
            f" macro-F1 {tfidf['macro_f1']:.3f}, r {_fmt(tfidf['pearson_r'])} on the same test sentences.")


def _recall_sentence(metrics: dict[str, Any]) -> str:
    counts = metrics.get("test_confusion", {}).get("counts")
    if not counts:
        return ""
    recalls = [row[i] / sum(row) if sum(row) else float("nan") for i, row in enumerate(counts)]
    return (f" Test recall per class: negative {recalls[0]:.2f}, neutral {recalls[1]:.2f},"
            f" positive {recalls[2]:.2f}.")


def _origin_sentence(metrics: dict[str, Any]) -> str:
    """Say plainly what the shipped weights started from (a from-scratch run is no pre-trained RoBERTa)."""
    train = metrics["split"]["used_sizes"]["train"]
    if metrics["model"]["selected_run"] == "finetune_from_scratch":
        return (f" The shipped weights were trained from random initialisation on {train:,} sentences:"
                " it has RoBERTa's architecture, but it is not a pre-trained RoBERTa.")
    return (f" The shipped weights were fine-tuned after a short masked-LM pre-training on the same"
            f" {train:,} training sentences, not on large text: it is not a pre-trained RoBERTa.")


def _extra_text_line(r: dict[str, Any], log: dict[str, Any]) -> str:
    if r.get("pretrain_text", "train") != "train+wordnet":
        return "on the training texts"
    from roberta_math.data import wordnet

    n = log["stages"].get("pretrain", {}).get("sentences")
    count = f"{n:,} sentences: " if n else ""
    return (f"on the training texts plus WordNet 3.0's glosses and example sentences ({count}Debian package "
            f"`{wordnet.PACKAGE}={wordnet.VERSION}`, SHA-256 `{wordnet.DEB_SHA256}`; {wordnet.LICENCE})")


def _loss_line(r: dict[str, Any]) -> str:
    parts = []
    if r.get("class_weighting", "none") == "balanced":
        parts.append("class weights N / (3 N_c) (scikit-learn's \"balanced\")")
    if r.get("label_smoothing", 0.0):
        parts.append(f"label smoothing {r['label_smoothing']}")
    return "; cross-entropy with " + " and ".join(parts) if parts else ""


def _calibration_section(metrics: dict[str, Any]) -> str:
    c = metrics.get("calibration")
    if not c:
        return ""
    v, t = c["validation"], c["test"]
    return f"""
## Calibration

Temperature scaling (Guo et al. 2017): every scorer of the package divides the logits by
tau = {c['temperature']:.4f} before the softmax (`calibration.json`), fitted on the validation split by
minimising its negative log-likelihood. Labels do not change; probabilities do.

| split | ECE ({c['ece_bins']} bins), tau = 1 | ECE, fitted tau | NLL, tau = 1 | NLL, fitted tau |
|---|---:|---:|---:|---:|
| validation | {v['ece_before']:.4f} | {v['ece_after']:.4f} | {v['nll_before']:.4f} | {v['nll_after']:.4f} |
| test | {t['ece_before']:.4f} | {t['ece_after']:.4f} | {t['nll_before']:.4f} | {t['nll_after']:.4f} |
"""


def render_model_card(metrics: dict[str, Any], log: dict[str, Any]) -> str:
    """The whole card: data, recipe, test metrics per domain, and plainly stated limits."""
    r = metrics["recipe"]
    split = metrics["split"]
    versions = metrics["versions"]
    overall, vader = metrics["test"]["overall"], metrics["vader_test"]["overall"]
    selected = metrics["model"]["selected_run"].replace("finetune_", "").replace("_", " ")
    limited = "" if r["limit"] is None else f"\n\n> **Trial run:** each split was capped at {r['limit']} sentences.\n"
    return f"""# Model card: roberta-math compact sentiment model

A compact `RobertaForSequenceClassification` (3 classes: negative, neutral, positive) trained
by this project's own recipe (`roberta-math train`) so that every figure of the site can be
computed offline by a real RoBERTa-architecture model. It is a teaching model, not a
production sentiment classifier.{_origin_sentence(metrics)}{limited}

## Data

The four human-rated corpora of Hutto & Gilbert (2014): tweets, movie-review snippets,
Amazon-review snippets and New York Times editorial snippets, 23,703 sentences, each with
the mean of its raters' scores on a scale from -4 to +4 (the paper says 20 raters; the
published ratings hold exactly 20 per Amazon and NYT sentence, 15 to 29 per movie-review
sentence and 20 or 92 to 99 per tweet, counted on the site's RoBERTa vs VADER page). Obtained from the
`vaderSentiment==3.3.2` source distribution (`additional_resources/hutto_ICWSM_2014.tar.gz`,
sdist SHA-256 `{metrics['corpus']['sdist_sha256']}`).

> {metrics['corpus']['citation']}

Labels: valence / 4 <= -0.05 negative, >= 0.05 positive, otherwise neutral (the VADER
paper's thresholds for its scores, applied to the ratings by this project). Split: 80/10/10 train/validation/test, stratified per (domain, label),
seed {split['seed']}; {split['algorithm']}. Sizes {split['sizes']['train']} / {split['sizes']['validation']} /
{split['sizes']['test']}; split fingerprint (SHA-256 over the sorted ids of each split)
`{split['fingerprint_sha256']}`. The tokenizer and both training stages saw the training
split only; model selection used the validation split only; the test split was scored once.

## Recipe

- Tokenizer: byte-level BPE, {metrics['model']['vocab_size']} tokens, RoBERTa's special tokens
  `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>`=4, learnt on the training split.
- Model: {r['num_layers']} layers, hidden size {r['hidden_size']}, {r['num_heads']} heads, feed-forward {r['ffn_size']},
  at most {r['max_tokens']} tokens (`max_position_embeddings` {r['max_tokens'] + 2}), dropout {r['dropout']};
  {metrics['model']['parameters']:,} parameters.
- Masked-LM pre-training: {r['pretrain_epochs']} epochs {_extra_text_line(r, log)}, RoBERTa's dynamic masking
  ({r['mask_probability']:.0%} of tokens; 80 % `<mask>`, 10 % random, 10 % unchanged), lr {r['pretrain_learning_rate']}.
- Fine-tuning: {r['finetune_epochs']} epochs, AdamW lr {r['learning_rate']}, weight decay {r['weight_decay']},
  {r['warmup_fraction']:.0%} linear warm-up then linear decay, batch {r['batch_size']}, gradient clipping {r['grad_clip_norm']}{_loss_line(r)};
  the epoch with the best validation macro-F1 is kept. With pre-training on, the same fine-tuning
  also ran from random weights; the run with the better validation macro-F1 ships
  (here: **{selected}**, epoch {metrics['model']['best_epoch']}).
- Seed {r['seed']}, `torch.set_num_threads({r['num_threads']})`; torch {versions['torch']},
  transformers {versions['transformers']}, tokenizers {versions['tokenizers']}. Wall time
  {metrics['wall_seconds'].get('total', 0):.0f} s on this machine.

{_curve_summary(log)}

## Results on the test split

Accuracy and macro-F1 over the three classes; r is the Pearson correlation of
P(positive) - P(negative) with the raters' mean valence (for VADER: its compound score).
VADER is scored on exactly the same sentences, with its documented +/-0.05 thresholds.

{metrics_table(metrics)}

Overall the model reaches accuracy {overall['accuracy']:.3f} against VADER's {vader['accuracy']:.3f}.{_tfidf_sentence(metrics)}
{_calibration_section(metrics)}
## Limits

- Small: {metrics['model']['parameters']:,} parameters trained on {split['used_sizes']['train']:,} sentences, with no
  pre-training on large text. That is what makes `roberta-base` strong; this model cannot
  show it (see the TF-IDF reference above).
- Neutral is rare (about 8 % of sentences) and is the class the model gets wrong most;
  read macro-F1, not only accuracy.{_recall_sentence(metrics)}
- English only; four domains from 2004-2013 (tweets, movie reviews, product reviews,
  editorials). Other domains, newer slang and long texts (over {r['max_tokens']} tokens are cut) are
  untested.
- Labels are the mean of crowd ratings thresholded at +/-0.05 on a [-1, 1] scale; sentences
  near the thresholds are noisy. {split['test_texts_also_in_train']} test sentences also occur verbatim
  (with their own ratings) in the training split.
- Not for decisions about people. It has not been checked for bias.
"""
