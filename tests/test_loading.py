"""load_model: the embedded model, local directories, and hub ids read from a cached-hub layout offline."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers_models import (
    ROBERTA_BASE_CONFIG,
    build_tokenizer,
    config_bytes,
    file_sha256,
    place_in_hub_cache,
    roberta_base_shaped_weights,
    tiny_classifier,
)

from roberta_math.errors import UserError
from roberta_math.labels import LABELS
from roberta_math.model import loading
from roberta_math.model.loading import LoadedModel, hub_reachable, load_model

CARDIFF = "cardiffnlp/twitter-roberta-base-sentiment"
CARDIFF_LATEST = "cardiffnlp/twitter-roberta-base-sentiment-latest"


def _files(directory: Path) -> dict[str, Path]:
    return {p.name: p for p in directory.iterdir() if p.is_file()}


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A hub cache holding the seed's hub models, as random checkpoints (roberta-base-shaped where it matters)."""
    root = tmp_path_factory.mktemp("hub")
    cache = root / "hub-cache"
    tokenizer_dir = build_tokenizer(root / "tokenizer", model_max_length=512)
    tokenizer_files = _files(tokenizer_dir)
    big = roberta_base_shaped_weights(root / "roberta-base-shaped.safetensors")
    # cardiffnlp/twitter-roberta-base-sentiment: roberta-base shape, labels only LABEL_0..2 in its config.
    cardiff_config = {**ROBERTA_BASE_CONFIG, "architectures": ["RobertaForSequenceClassification"],
                      "id2label": {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"},
                      "label2id": {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}}
    place_in_hub_cache(cache, CARDIFF, {**tokenizer_files, "model.safetensors": big, "config.json": config_bytes(**cardiff_config)})
    # roberta-base: a masked-LM config with the default two LABEL_i classes; the same weights serve as its encoder.
    place_in_hub_cache(cache, "roberta-base", {**tokenizer_files, "model.safetensors": big, "config.json": config_bytes(**ROBERTA_BASE_CONFIG)})
    # -latest names its classes; a small stand-in is enough to test that.
    latest = tiny_classifier(root / "latest", id2label={0: "negative", 1: "neutral", 2: "positive"})
    place_in_hub_cache(cache, CARDIFF_LATEST, _files(latest))
    stars = tiny_classifier(root / "stars", id2label={i: f"{i + 1} stars" for i in range(5)})
    place_in_hub_cache(cache, "someone/five-stars", _files(stars))
    yield cache
    big.unlink()  # 500 MB: do not leave it in pytest's kept temporary directories


@pytest.fixture
def offline_hub(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return hub_cache


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Columns deliberately not in LABELS order: column 0 is positive.
    return tiny_classifier(tmp_path_factory.mktemp("tiny"), id2label={0: "Positive", 1: "Negative", 2: "Neutral"})


# --------------------------------------------------------------------------- local directories


def test_local_directory_loads_with_labels_in_project_order(tiny_dir: Path) -> None:
    loaded = load_model(str(tiny_dir))
    assert isinstance(loaded, LoadedModel)
    assert loaded.labels == LABELS
    # negative is column 1, neutral column 2, positive column 0 of this checkpoint
    assert loaded.label_columns == (1, 2, 0)
    assert loaded.provenance.source == "local"
    assert loaded.provenance.sha256 == file_sha256(tiny_dir / "model.safetensors")
    assert loaded.provenance.parameters == sum(p.numel() for p in loaded.model.parameters())
    assert loaded.max_tokens == 32
    assert not loaded.model.training
    assert loaded.model.config._attn_implementation == "eager"


def test_loaded_model_is_frozen(tiny_dir: Path) -> None:
    loaded = load_model(str(tiny_dir))
    with pytest.raises(AttributeError):
        loaded.labels = ("a", "b", "c")  # type: ignore[misc]


def test_eager_attention_returns_attention_weights(tiny_dir: Path) -> None:
    loaded = load_model(str(tiny_dir))
    enc = loaded.tokenizer("I loved it", return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model(**enc, output_attentions=True)
    assert len(out.attentions) == 2 and out.attentions[0].shape[-1] == enc["input_ids"].shape[1]


def test_loading_prints_nothing(tiny_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    load_model(str(tiny_dir))
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_directory_without_config_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no config.json"):
        load_model(str(tmp_path))


def test_file_instead_of_directory_is_a_user_error(tiny_dir: Path) -> None:
    with pytest.raises(UserError, match="is a file"):
        load_model(str(tiny_dir / "config.json"))


def test_directory_with_broken_weights_is_a_user_error(tiny_dir: Path, tmp_path: Path) -> None:
    for f in tiny_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(UserError) as info:
        load_model(str(tmp_path))
    assert "\n" not in str(info.value)


def test_label_names_override(tmp_path: Path) -> None:
    directory = tiny_classifier(tmp_path / "m", id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(UserError, match="not negative/neutral/positive"):
        load_model(str(directory))
    loaded = load_model(str(directory), label_names=["positive", "neutral", "negative"])
    assert loaded.label_columns == (2, 1, 0)


# --------------------------------------------------------------------------- hub ids, offline


def test_cardiffnlp_hub_id_offline_maps_label_i_names(offline_hub: Path) -> None:
    loaded = load_model(CARDIFF)
    assert loaded.labels == LABELS
    assert loaded.label_columns == (0, 1, 2)  # LABEL_0/1/2 = negative/neutral/positive (model card)
    assert loaded.provenance.source == "hub"
    assert loaded.provenance.revision is not None
    assert Path(loaded.provenance.location).parent.parent.name == "models--cardiffnlp--twitter-roberta-base-sentiment"
    assert loaded.provenance.sha256 == file_sha256(offline_hub.parent / "roberta-base-shaped.safetensors")
    assert 124_000_000 < loaded.provenance.parameters < 126_000_000  # roberta-base + a 3-class head
    assert loaded.max_tokens == 512
    with torch.inference_mode():
        logits = loaded.model(**loaded.tokenizer("hello", return_tensors="pt")).logits
    assert logits.shape == (1, 3)


def test_roberta_base_is_refused_as_a_classifier_but_loads_as_an_encoder(offline_hub: Path) -> None:
    with pytest.raises(UserError, match="task='encoder'"):
        load_model("roberta-base")
    encoder = load_model("roberta-base", task="encoder")
    assert encoder.task == "encoder" and encoder.labels == ()
    assert type(encoder.model).__name__ == "RobertaModel"
    assert encoder.max_tokens == 512
    enc = encoder.tokenizer("a plain encoder", return_tensors="pt")
    with torch.inference_mode():
        out = encoder.model(**enc, output_attentions=True)
    assert out.last_hidden_state.shape == (1, enc["input_ids"].shape[1], 768)
    assert len(out.attentions) == 12 and out.attentions[0].shape[1] == 12


def test_latest_hub_id_offline_reads_named_labels(offline_hub: Path) -> None:
    loaded = load_model(CARDIFF_LATEST)
    assert loaded.labels == LABELS and loaded.label_columns == (0, 1, 2)
    assert loaded.provenance.source == "hub"


def test_hub_model_with_other_classes_is_refused(offline_hub: Path) -> None:
    with pytest.raises(UserError, match="1 stars"):
        load_model("someone/five-stars")


def test_nonexistent_hub_id_is_a_user_error_naming_the_fix(offline_hub: Path) -> None:
    with pytest.raises(UserError) as info:
        load_model("nobody/no-such-model")
    message = str(info.value)
    assert "nobody/no-such-model" in message and "HF_HUB_OFFLINE" in message
    assert "local directory" in message and "\n" not in message


def test_unreachable_hub_falls_back_to_the_cache_without_waiting(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A closed port on this machine stands for a hub that cannot be reached; no real network.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    assert not hub_reachable(timeout=1.0)
    started = time.perf_counter()
    loaded = load_model(CARDIFF_LATEST)
    assert loaded.provenance.source == "hub"
    assert time.perf_counter() - started < 10
    with pytest.raises(UserError, match="the hub is unreachable"):
        load_model("nobody/no-such-model")


def test_never_falls_back_to_another_model(offline_hub: Path) -> None:
    with pytest.raises(UserError):
        load_model("nobody/no-such-model")
    with pytest.raises(UserError):
        load_model("./no/such/dir")


@pytest.mark.parametrize("bad", ["../x/y/z", "a/b/c", "with space/model"])
def test_names_that_are_neither_dirs_nor_hub_ids(bad: str, offline_hub: Path) -> None:
    with pytest.raises(UserError, match="no model directory"):
        load_model(bad)


def test_unknown_task_is_a_user_error(tiny_dir: Path) -> None:
    with pytest.raises(UserError, match="unknown task"):
        load_model(str(tiny_dir), task="regression")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the embedded model


def test_missing_embedded_model_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loading, "EMBEDDED_DIR", tmp_path / "embedded")
    with pytest.raises(UserError, match="roberta-math train"):
        load_model()


def test_embedded_model_loads_with_provenance() -> None:
    directory = loading.EMBEDDED_DIR
    loaded = load_model()
    assert loaded.labels == LABELS
    assert loaded.provenance.name == "embedded" and loaded.provenance.source == "embedded"
    assert loaded.provenance.sha256 == file_sha256(directory / "model.safetensors")
    # the compact model: about 1.5M parameters, 128 tokens
    assert 500_000 < loaded.provenance.parameters < 5_000_000
    config = json.loads((directory / "config.json").read_text())
    assert loaded.max_tokens == config["max_position_embeddings"] - 2
    sizes = sum(f.stat().st_size for f in directory.iterdir())
    assert sizes <= 8 * 1024 * 1024  # the 8 MB budget


# --------------------------------------------------------------------------- LABEL_i names (cardiffnlp)

# cardiffnlp/twitter-roberta-base-sentiment's model card: "Labels: 0 -> Negative; 1 -> Neutral;
# 2 -> Positive"; its config.json says only LABEL_0, LABEL_1, LABEL_2.
CARDIFF_MODEL_CARD = {0: "negative", 1: "neutral", 2: "positive"}
LABEL_I = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}


@pytest.fixture(scope="module")
def small_label_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny checkpoints (no 500 MB file) under the cardiffnlp id and under ids the mapping must not touch."""
    root = tmp_path_factory.mktemp("label-hub")
    cache = root / "hub-cache"
    place_in_hub_cache(cache, CARDIFF, _files(tiny_classifier(root / "cardiff", id2label=LABEL_I, seed=1)))
    place_in_hub_cache(cache, "someone/label-i-sentiment", _files(tiny_classifier(root / "other", id2label=LABEL_I)))
    return cache


def test_cardiffnlp_label_i_columns_follow_its_model_card(small_label_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(small_label_hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model(CARDIFF)
    assert loaded.labels == LABELS
    # each of our labels reads the column the model card gives it
    assert loaded.label_columns == tuple(next(i for i, n in CARDIFF_MODEL_CARD.items() if n == label) for label in LABELS)
    from roberta_math.evaluation.scoring import score_texts

    texts = ["I loved it", "worst phone ever", "the meeting is at three"]
    probs = score_texts(texts, loaded)
    with torch.inference_mode():
        logits = loaded.model(**loaded.tokenizer(texts, return_tensors="pt", padding=True)).logits
    by_card = torch.softmax(logits, -1).numpy()  # columns 0, 1, 2 = negative, neutral, positive
    for k, label in enumerate(LABELS):
        column = next(i for i, n in CARDIFF_MODEL_CARD.items() if n == label)
        assert abs(probs[:, k] - by_card[:, column]).max() < 1e-5, label


def test_label_i_names_of_any_other_hub_id_are_refused(small_label_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model card mapping belongs to one checkpoint: another LABEL_i model is not silently read the same way."""
    monkeypatch.setenv("HF_HUB_CACHE", str(small_label_hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="not negative/neutral/positive"):
        load_model("someone/label-i-sentiment")
    loaded = load_model("someone/label-i-sentiment", label_names=["positive", "negative", "neutral"])
    assert loaded.label_columns == (1, 2, 0)
