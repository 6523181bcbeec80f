"""roberta_math: RoBERTa's sentiment classifier, one equation per function.

Importing the package is cheap: it imports ``torch`` and the math functions,
never a model, the corpus or a plotting library.
"""

from __future__ import annotations

__version__ = "0.1.0"
