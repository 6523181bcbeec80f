r"""Measured answers to two questions: does masked-LM pre-training help, and how well does a model travel across domains?

``roberta-math experiments`` runs both experiments with the embedded model's recipe
(:mod:`roberta_math.training.recipe`) on the VADER paper's corpora and writes one
results file (:data:`~roberta_math.experiments.results.RESULTS_PATH`, committed: it is
the experiment's record, not a cache):

**Domain transfer.** The compact model is trained from random weights on the training
split of each domain alone and of all four, then scored on the test split of every
domain; the same for TF-IDF + logistic regression
(:mod:`roberta_math.evaluation.baseline`), beside VADER, which trains on nothing.
Diagonal cells are in-domain, the rest out-of-domain.

**Pre-training objective.** One masked-LM pre-training on the training-split texts
(RoBERTa's objective: 15 % of the tokens chosen, 80/10/10 replacement, fresh masks every
epoch), then fine-tuning on a growing share of the labelled training split, beside the
same fine-tuning from random weights, over several seeds: learning curves.

The modules: :mod:`~roberta_math.experiments.protocol` (what one run is and how it is
trained; its source is part of the cache key), :mod:`~roberta_math.experiments.runner`
(the resumable loop: every finished run is a JSON record that is never recomputed),
:mod:`~roberta_math.experiments.results` (the results file: summary, headline numbers,
schema check) and :mod:`~roberta_math.experiments.cli`.
"""
