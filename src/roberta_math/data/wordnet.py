r"""Unlabelled English sentences for masked-LM pre-training: WordNet's glosses and examples.

The recipe can pre-train on more text than the 18,961 training sentences. The text comes
from Debian's package ``wordnet-base`` (WordNet 3.0, Princeton University; licence:
the *WordNet 3.0 license*, a permissive licence that allows use, copying and
redistribution with its copyright notice; see ``/usr/share/doc/wordnet-base/copyright``
inside the package). It is fetched by package name with the ordinary client,

    apt-get download wordnet-base=1:3.0-37

into the per-user cache (``cache_root() / "wordnet"``), used only if its SHA-256 equals
:data:`DEB_SHA256`, and never committed.

Each synset line of ``data.{noun,verb,adj,adv}`` ends in ``| gloss``: a definition,
then example sentences in double quotes, separated by ``"; "``. Every piece of at least
:data:`MIN_WORDS` words becomes one sentence, in file order (noun, verb, adj, adv), so
the list is the same on every machine: 170,865 sentences, 1,436,409 words.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from roberta_math.cache import cache_root, sha256_file
from roberta_math.errors import UserError

PACKAGE = "wordnet-base"
VERSION = "1:3.0-37"
DEB_NAME = "wordnet-base_3.0-37_all.deb"
DEB_SHA256 = "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"
LICENCE = "WordNet 3.0 license (Princeton University), permissive; notice kept in the package"
CITATION = "Princeton University (2010). About WordNet. WordNet 3.0. https://wordnet.princeton.edu/"
POS_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
MIN_WORDS = 3


def _deb_members(deb: bytes) -> dict[str, bytes]:
    r"""The members of a Debian package (an ``ar`` archive): name -> bytes.

    >>> ar = b"!<arch>\n" + b"debian-binary/  0           0     0     100644  4         `\n" + b"2.0\n"
    >>> _deb_members(ar)
    {'debian-binary': b'2.0\n'}
    """
    if not deb.startswith(b"!<arch>\n"):
        raise ValueError("not a Debian package (no ar header)")
    members, at = {}, 8
    while at + 60 <= len(deb):
        header = deb[at : at + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = deb[at + 60 : at + 60 + size]
        at += 60 + size + (size % 2)  # members are 2-byte aligned
    return members


def gloss_sentences(line: str) -> list[str]:
    """The definition and example sentences of one ``data.*`` line (pieces of >= 3 words).

    >>> gloss_sentences('00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived '
    ...                 'or known; "the entity has a name"; "ok"  ')
    ['that which is perceived or known', 'the entity has a name']
    """
    if line.startswith("  ") or "| " not in line:
        return []  # the licence header lines, or no gloss
    pieces = (p.strip().strip('"').strip() for p in line.split("| ", 1)[1].strip().split("; "))
    return [p for p in pieces if len(p.split()) >= MIN_WORDS]


def _fetch_deb(target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".apt-") as tmp:
        try:
            done = subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=tmp,
                                  capture_output=True, text=True, check=False)
        except OSError:
            raise UserError(f"apt-get is not available to fetch {PACKAGE}={VERSION}; download {DEB_NAME} "
                            f"from a Debian mirror into {target.parent} and retry") from None
        saved = sorted(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or not saved:
            last = (done.stderr.strip().splitlines() or ["no file saved"])[-1]
            raise UserError(f"apt-get could not download {PACKAGE}={VERSION} ({last}); connect to a Debian "
                            f"mirror once, or put {DEB_NAME} into {target.parent}")
        got = sha256_file(saved[0])
        if got != DEB_SHA256:
            raise UserError(f"{saved[0].name} has SHA-256 {got}, not {DEB_SHA256}; it was discarded")
        shutil.move(str(saved[0]), str(target))


def wordnet_sentences(cache: Path | None = None) -> list[str]:
    """Every gloss and example sentence of WordNet 3.0, fetched and verified once, then cached.

    Raises :class:`~roberta_math.errors.UserError` (one line, with the fix) when the package
    cannot be fetched or fails its checksum.
    """
    folder = (cache or cache_root()) / "wordnet"
    folder.mkdir(parents=True, exist_ok=True)
    deb = folder / DEB_NAME
    if not deb.exists() or sha256_file(deb) != DEB_SHA256:
        deb.unlink(missing_ok=True)
        _fetch_deb(deb)
    members = _deb_members(deb.read_bytes())
    data_name = next(n for n in members if n.startswith("data.tar"))
    sentences: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(members[data_name])) as tar:
        for pos_file in POS_FILES:
            raw = tar.extractfile(f"./usr/share/wordnet/{pos_file}")
            assert raw is not None
            for line in raw.read().decode("latin-1").splitlines():
                sentences += gloss_sentences(line)
    return sentences


__all__ = ["wordnet_sentences", "gloss_sentences", "PACKAGE", "VERSION", "DEB_SHA256", "LICENCE", "CITATION"]
