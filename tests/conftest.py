"""Suite-wide settings: no hub traffic, quiet transformers, fixed thread count."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

import torch  # noqa: E402

torch.set_num_threads(2)

# pytest's --doctest-modules would import this file a second time as a module: skip it.
collect_ignore = ["conftest.py"]
