"""Small random RoBERTa checkpoints for tests, built in temporary directories.

Nothing here is trained: the models exist to exercise loading, scoring and the command
line without the embedded model or a hub. ``tiny_classifier`` takes about 0.1 s;
``roberta_base_shaped_weights`` writes a 500 MB roberta-base-shaped file (about 2 s), so
tests build it once per session.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

TRAINING_TEXTS = [
    "I loved this movie, the acting was wonderful.",
    "This is the worst phone I have ever bought.",
    "The meeting is at three o'clock on Tuesday.",
    "Absolutely fantastic service, thank you!",
    "Terrible, boring and far too long.",
    "The report lists the committee's members.",
    "Not bad at all, I would watch it again :)",
    "What a waste of money and time...",
    "Prices rose by two percent last quarter.",
    "Café crème and naïve résumé, with emoji 🙂 too.",
]

# roberta-base's published architecture (config.json of the hub repo), with random weights here.
ROBERTA_BASE_CONFIG = {
    "architectures": ["RobertaForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "model_type": "roberta",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 1,
    "type_vocab_size": 1,
    "vocab_size": 50265,
}


def build_tokenizer(directory: Path, *, model_max_length: int = 32, vocab_size: int = 400) -> Path:
    """Train a byte-level BPE with RoBERTa's special tokens on a few sentences; save it to ``directory``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],  # ids 0..4, as RoBERTa's first four
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(TRAINING_TEXTS * 5, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    wrapped = RobertaTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=model_max_length,
    )
    directory.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(directory))
    return directory


def tiny_classifier(
    directory: Path,
    *,
    id2label: dict[int, str] | None = None,
    max_tokens: int = 32,
    seed: int = 0,
    initializer_range: float = 0.2,
) -> Path:
    """A 2-layer, hidden-32 RobertaForSequenceClassification with random weights, saved with its tokenizer.

    ``initializer_range`` is ten times RoBERTa's 0.02: with the usual value a random model
    gives every text nearly the same probabilities (spread ~1e-4), which would let a test
    that mixes up rows pass; at 0.2 they differ by up to ~0.3.
    """
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    build_tokenizer(directory, model_max_length=max_tokens)
    id2label = id2label or {0: "negative", 1: "neutral", 2: "positive"}
    config = RobertaConfig(
        vocab_size=400, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=max_tokens + 2, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()},
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, initializer_range=initializer_range,
    )
    torch.manual_seed(seed)
    model = RobertaForSequenceClassification(config)
    model.save_pretrained(str(directory))
    return directory


def roberta_base_shaped_weights(path: Path, *, seed: int = 0) -> Path:
    """Random weights of a roberta-base-shaped RobertaForSequenceClassification (3 labels), as one safetensors file.

    Sampled straight into tensors (no module initialisation), 125M parameters, 500 MB.
    The same file serves as a sentiment checkpoint and, loaded with ``AutoModel``, as a
    bare encoder (the ``classifier.*`` tensors are then unused).
    """
    import torch
    from safetensors.torch import save_file
    from transformers import RobertaConfig, RobertaForSequenceClassification

    config = RobertaConfig(**{k: v for k, v in ROBERTA_BASE_CONFIG.items() if k != "architectures"}, num_labels=3)
    with torch.device("meta"):
        shapes = {name: p.shape for name, p in RobertaForSequenceClassification(config).named_parameters()}
    generator = torch.Generator().manual_seed(seed)
    tensors = {name: torch.randn(shape, generator=generator) * 0.02 for name, shape in shapes.items()}
    for name in tensors:
        if "LayerNorm.weight" in name:
            tensors[name] = torch.ones_like(tensors[name])  # unit gains keep activations sane
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def place_in_hub_cache(cache: Path, repo_id: str, files: dict[str, Path | bytes], revision: str | None = None) -> Path:
    """Lay out ``files`` as the Hugging Face hub cache does; return the snapshot directory.

    ``models--{org}--{name}/blobs/<hash>`` holds the content, ``snapshots/<revision>/<file>``
    links to it, and ``refs/main`` names the revision. A ``Path`` value is linked, not copied.
    """
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    revision = revision or hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo_dir / "snapshots" / revision
    blobs = repo_dir / "blobs"
    snapshot.mkdir(parents=True, exist_ok=True)
    blobs.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, Path):
            blob = blobs / hashlib.sha256(str(content.resolve()).encode()).hexdigest()
            if not blob.exists():
                os.symlink(content.resolve(), blob)
        else:
            blob = blobs / hashlib.sha256(content).hexdigest()
            blob.write_bytes(content)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / name)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    return snapshot


def config_bytes(**config: object) -> bytes:
    """``config.json`` content."""
    return json.dumps(config, indent=2).encode()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed here independently of the project's code."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()  # (hashlib.file_digest needs Python 3.11)


def randomise_biases_and_layer_norms(model, *, seed: int, bias_std: float = 0.5, gain_std: float = 0.2):
    """Draw every bias, LayerNorm shift and LayerNorm gain at random, in place; return ``model``.

    transformers' ``_init_weights`` sets every bias and LayerNorm shift to 0 and every gain to 1,
    so a model straight from its constructor cannot tell a forward or backward pass that drops
    $b$, $\\gamma$ or $\\beta$ from one that uses them. Here biases and shifts are
    $\\mathcal N(0, \\text{bias\\_std}^2)$ and gains $1 + \\mathcal N(0, \\text{gain\\_std}^2)$,
    from their own generator (the matrices are left as they are).
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator, dtype=torch.float64).to(p.dtype)
            if "LayerNorm.weight" in name:
                p.copy_(1 + gain_std * noise)
            elif name.endswith("bias"):  # linear biases and LayerNorm shifts
                p.copy_(bias_std * noise)
    return model
