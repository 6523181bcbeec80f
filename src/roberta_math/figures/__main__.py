"""``python -m roberta_math.figures --out DIR [--model NAME]``."""

from roberta_math.figures.cli import main

raise SystemExit(main())
