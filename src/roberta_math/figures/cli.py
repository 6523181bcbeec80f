"""``roberta-math figures`` and ``python -m roberta_math.figures``: build the site's figures.

Both take ``--out DIR`` (default: a folder per model in the cache, see
:func:`~roberta_math.figures.cache.default_out_dir`), ``--model`` (``embedded``, a
directory or a hub id), ``--params FILE`` (a JSON object overriding fields of
:class:`~roberta_math.figures.build.FigureParams`), ``--force`` to ignore the cache, ``--step NAME`` to build only
some steps and ``--no-progress``. The last line of output says how many steps ran and
how many were reused; ``--json`` prints the manifest instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from roberta_math.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the ``figures`` subcommand (``--model`` comes from the main CLI)."""
    parser.add_argument("--out", metavar="DIR", help="output directory (default: <cache>/figures/<model>/figures)")
    parser.add_argument("--params", metavar="FILE", help="JSON object overriding figure parameters (see FigureParams)")
    parser.add_argument("--force", action="store_true", help="rebuild every step even if its cache entry is valid")
    parser.add_argument("--step", action="append", metavar="NAME",
                        help="build only this step (repeatable): math, model, explorer, heads, evaluation, training")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines or bars on stderr")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")


def run(args: argparse.Namespace) -> int:
    """Build the figures as ``args`` say; print a one-line summary (or the manifest); return 0."""
    from pathlib import Path

    from roberta_math.figures.build import build_figures, params_from_mapping
    from roberta_math.figures.cache import default_out_dir

    out = Path(args.out) if args.out else default_out_dir(args.model)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: give a directory for the figures")
    params = None
    if args.params:
        try:
            values = json.loads(Path(args.params).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UserError(f"--params {args.params}: cannot read a JSON object ({error}); check the file") from None
        if not isinstance(values, dict):
            raise UserError(f"--params {args.params} holds a JSON {type(values).__name__}, not an object of parameters")
        params = params_from_mapping(values)
    manifest = build_figures(out, model=args.model, progress=not args.no_progress, steps=args.step,
                             force=args.force, params=params)
    if args.json:
        print(json.dumps(manifest, indent=1, sort_keys=True))
    else:
        run_info = manifest["run"]
        files = sum(len(entry["files"]) for entry in manifest["steps"].values())
        print(f"{files} files in {out}: {len(run_info['steps_run'])} steps built, "
              f"{len(run_info['steps_reused'])} reused, {run_info['forward_sentences']} sentences through the model, "
              f"{run_info['seconds']:.1f} s")
    return 0


def _subcommand():  # noqa: ANN202 - the Subcommand type lives in roberta_math.cli
    from roberta_math.cli import Subcommand

    return Subcommand("figures", "build the site's figures (cached) into a directory", add_arguments, run)


def __getattr__(name: str):  # noqa: ANN202
    # SUBCOMMAND is built on first access, so importing this module never imports the CLI.
    if name == "SUBCOMMAND":
        return _subcommand()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m roberta_math.figures``: the same options as ``roberta-math figures``, exit status 2 on a UserError.

    >>> main(["--step", "nonsense", "--out", "unused", "--no-progress"])
    2
    """
    parser = argparse.ArgumentParser(prog="python -m roberta_math.figures", description="Build the site's figures (cached).")
    parser.add_argument("--model", default="embedded", metavar="NAME",
                        help="'embedded' (default: the compact model shipped with the package), a model directory, or a hub id")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as error:
        print(f"roberta-math figures: error: {' '.join(str(error).split())}", file=sys.stderr)
        return UserError.exit_status
