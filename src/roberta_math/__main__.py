"""``python -m roberta_math``: the same command line as ``roberta-math``."""

from roberta_math.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
