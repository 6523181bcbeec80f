"""Temperature scaling, NLL and ECE against independent references, and the fitted T in every scorer.

References: torch's cross-entropy for the NLL, scipy's bounded scalar minimiser for the
fitted temperature, a loop written from Guo et al. (2017)'s definition for the ECE, and
softmax(z / T) computed from the model's raw logits for the scorers.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from helpers_models import tiny_classifier
from roberta_math.errors import UserError
from roberta_math.evaluation.calibration import fit_temperature, negative_log_likelihood, reliability_bins, softmax_rows
from roberta_math.model.loading import CALIBRATION_FILE, load_model, read_temperature
from roberta_math.training.recipe import calibration_report, class_weights


def _data(n: int, classes: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Over-confident logits: the label agrees with the argmax only about 70 % of the time."""
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(n, classes))
    labels = logits.argmax(axis=1)
    flip = rng.random(n) < 0.3
    labels[flip] = rng.integers(0, classes, size=int(flip.sum()))
    return logits, labels


@pytest.mark.parametrize("classes", [2, 3, 7])
@pytest.mark.parametrize("temperature", [0.3, 1.0, 4.0])
def test_nll_equals_torch_cross_entropy(classes: int, temperature: float) -> None:
    logits, labels = _data(200, classes, 5.0, seed=classes)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits) / temperature, torch.tensor(labels)).item()
    assert negative_log_likelihood(logits, labels, temperature) == pytest.approx(expected, abs=1e-12)


def test_nll_has_no_underflow_for_huge_logits() -> None:
    # softmax would give the true class exactly 0 in float64; logsumexp keeps the loss finite: 1000 nats.
    assert negative_log_likelihood(np.array([[1000.0, 0.0]]), np.array([1])) == pytest.approx(1000.0)


@pytest.mark.parametrize("scale, seed", [(5.0, 0), (1.0, 1), (20.0, 2), (0.2, 3)])
def test_fitted_temperature_equals_scipy_minimum(scale: float, seed: int) -> None:
    logits, labels = _data(500, 3, scale, seed)
    t = torch.tensor(logits)
    y = torch.tensor(labels)
    reference = minimize_scalar(
        lambda log_t: torch.nn.functional.cross_entropy(t / np.exp(log_t), y).item(),
        bounds=(np.log(1e-3), np.log(1e3)), method="bounded", options={"xatol": 1e-10},
    )
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(np.exp(reference.x), rel=1e-5)
    # and it is a minimum: moving T either way by 1 % raises the NLL
    best = negative_log_likelihood(logits, labels, fitted)
    assert negative_log_likelihood(logits, labels, fitted * 1.01) > best
    assert negative_log_likelihood(logits, labels, fitted / 1.01) > best


def test_fitted_temperature_recovers_the_true_temperature_and_lowers_ece() -> None:
    # Labels drawn from softmax(z / 3): the model's logits are 3x too sharp, and T* should be about 3.
    rng = np.random.default_rng(5)
    logits = 6.0 * rng.normal(size=(20000, 3))
    truth = softmax_rows(logits, 3.0)
    labels = np.array([rng.choice(3, p=row) for row in truth])
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(3.0, rel=0.05)
    before = reliability_bins(softmax_rows(logits), labels, 15)["ece"]
    after = reliability_bins(softmax_rows(logits, fitted), labels, 15)["ece"]
    assert before > 0.1 and after < 0.02


def test_fitted_temperature_hits_the_bounds_in_degenerate_cases() -> None:
    # Separable data: sharper is always better, so T goes to the lower bound 1e-3.
    z = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert fit_temperature(z, np.array([0, 1])) == pytest.approx(1e-3)
    # Always wrong: flatter is always better, so T goes to the upper bound 1e3.
    assert fit_temperature(z, np.array([1, 0])) == pytest.approx(1e3)


@pytest.mark.parametrize("bad_logits, bad_labels", [
    (np.zeros((3,)), np.zeros(3, dtype=int)),            # 1-D logits
    (np.zeros((3, 2)), np.zeros(2, dtype=int)),          # lengths differ
    (np.zeros((0, 2)), np.zeros(0, dtype=int)),          # empty
    (np.zeros((2, 2)), np.array([0.0, 1.0])),            # float labels
    (np.zeros((2, 2)), np.array([0, 2])),                # label out of range
    (np.array([[np.nan, 0.0]]), np.array([0])),          # NaN logit
])
def test_bad_shapes_and_values_raise(bad_logits: np.ndarray, bad_labels: np.ndarray) -> None:
    with pytest.raises(ValueError):
        fit_temperature(bad_logits, bad_labels)
    with pytest.raises(ValueError):
        negative_log_likelihood(bad_logits, bad_labels)


@pytest.mark.parametrize("t", [0.0, -1.0, float("nan"), float("inf")])
def test_nll_rejects_bad_temperatures(t: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        negative_log_likelihood(np.zeros((1, 2)), np.array([0]), t)


def _ece_by_definition(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> float:
    """Guo et al. (2017), eq. (3): bins B_m = ((m-1)/M, m/M], |B_m|/n |acc(B_m) - conf(B_m)|."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    total = 0.0
    for m in range(bins):
        low, high = m / bins, (m + 1) / bins
        inside = [i for i, c in enumerate(confidence) if (low <= c < high) or (m == bins - 1 and c == 1.0)]
        if inside:
            total += len(inside) / len(labels) * abs(correct[inside].mean() - confidence[inside].mean())
    return total


@pytest.mark.parametrize("bins", [1, 10, 15])
def test_ece_matches_its_definition(bins: int) -> None:
    logits, labels = _data(400, 3, 3.0, seed=bins)
    p = softmax_rows(logits)
    assert reliability_bins(p, labels, bins)["ece"] == pytest.approx(_ece_by_definition(p, labels, bins), abs=1e-12)


def test_calibration_report_by_hand() -> None:
    # Three of four right at confidence e^4/(e^4+1) = 0.98201: ECE = 0.98201 - 0.75; at T = 4/ln 3 the
    # confidence is exactly 0.75, so ECE = 0 and the NLL is -(3 ln 0.75 + ln 0.25)/4 = 0.5623.
    z = np.array([[4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    r = calibration_report(z, np.array([0, 0, 1, 1]), 4 / np.log(3))
    assert r["ece_before"] == pytest.approx(np.exp(4) / (np.exp(4) + 1) - 0.75, abs=1e-4)
    assert r["ece_after"] == pytest.approx(0.0, abs=1e-4)
    assert r["nll_after"] == pytest.approx(-(3 * np.log(0.75) + np.log(0.25)) / 4, abs=1e-4)


def test_class_weights_balance_the_expected_loss() -> None:
    labels = torch.tensor([0] * 6 + [1] * 1 + [2] * 3)
    w = class_weights(labels, 3)
    # Each class's total weight sum_i w_{y_i} is the same: N / C.
    totals = [float(w[c] * (labels == c).sum()) for c in range(3)]
    assert totals == pytest.approx([10 / 3] * 3)
    with pytest.raises(ValueError, match="every class"):
        class_weights(torch.tensor([0, 0, 2]), 3)


# ----------------------------------------------------------------------------- the scorers apply T


@pytest.fixture(scope="module")
def calibrated_dir(tmp_path_factory: pytest.TempPathFactory):
    directory = tiny_classifier(tmp_path_factory.mktemp("calibrated"), seed=3)
    (directory / CALIBRATION_FILE).write_text(json.dumps({"temperature": 2.5}))
    return directory


def test_load_model_reads_the_temperature_into_provenance(calibrated_dir) -> None:
    loaded = load_model(str(calibrated_dir))
    assert loaded.temperature == 2.5
    assert loaded.provenance.temperature == 2.5
    assert "temperature 2.500" in loaded.provenance.short()


def test_score_texts_returns_softmax_of_logits_over_t(calibrated_dir) -> None:
    from roberta_math.evaluation.scoring import score_texts

    loaded = load_model(str(calibrated_dir))
    texts = ["a good day", "a bad day at the end", "ok"]
    got = score_texts(texts, loaded)
    with torch.inference_mode():
        for text, row in zip(texts, got):
            enc = loaded.tokenizer(text, return_tensors="pt")
            z = loaded.model(**enc).logits.double()[0]  # (3,)
            expected = torch.softmax(z / 2.5, dim=-1)[list(loaded.label_columns)].numpy()
            assert row == pytest.approx(expected, abs=1e-6)
            assert not np.allclose(row, torch.softmax(z, dim=-1).numpy(), atol=1e-3)  # T matters here


def test_explorer_data_applies_the_temperature(calibrated_dir) -> None:
    from roberta_math.evaluation.scoring import score_texts
    from roberta_math.figures.explorer.data import explorer_example

    loaded = load_model(str(calibrated_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = explorer_example(loaded, "a good day")
    expected = score_texts(["a good day"], loaded)[0]
    got = [record["prediction"]["probabilities"][name] for name in loaded.labels]
    assert got == pytest.approx(expected, abs=1e-3)


def test_live_manifest_exports_the_temperature(calibrated_dir) -> None:
    from roberta_math.figures.live_model import exported_tensors, live_manifest, pack_weights

    loaded = load_model(str(calibrated_dir))
    data, entries = pack_weights(exported_tensors(loaded.model))
    assert live_manifest(loaded, entries, data, ())["temperature"] == 2.5


@pytest.mark.parametrize("content, message", [
    ("not json", "not a calibration file"),
    ('{"t": 2}', "no number under the key"),
    ("{}", "no number under the key"),
    ("[1.5]", "no number under the key"),
    ('{"temperature": -1}', "positive finite"),
    ('{"temperature": "2"}', "got '2'"),
    ('{"temperature": true}', "positive finite"),
])
def test_a_bad_calibration_file_is_a_one_line_error(tmp_path, content: str, message: str) -> None:
    (tmp_path / CALIBRATION_FILE).write_text(content)
    with pytest.raises(UserError, match=message):
        read_temperature(tmp_path)


def test_the_comparison_cache_key_changes_with_the_temperature(calibrated_dir) -> None:
    from dataclasses import replace

    from roberta_math.evaluation.result_cache import model_checksum

    loaded = load_model(str(calibrated_dir))
    assert model_checksum(loaded) != model_checksum(replace(loaded, temperature=1.5))
    assert model_checksum(loaded) == model_checksum(replace(loaded, temperature=2.5))
