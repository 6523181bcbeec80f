"""docs/conftest.py (Sybil) catches a failing snippet wherever a page puts it.

Seeded pages, run by a separate pytest over a copy of docs/conftest.py: a wrong number
in top-level ``pycon`` output, an exception in a ``python`` fence inside an admonition,
a wrong ``>>>`` output inside a content tab, a ``python`` fence written as a doctest, a
snippet-included file that raises, plus a skipped block (reported and counted) and a
skip mark without a reason (an error).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from site_pages import DOCS_DIR

SEEDED = '''\
# Seeded

```pycon
>>> x = 2
>>> x + 1
4
```

!!! note "In an admonition"

    ```python
    y = x * 10
    assert y == 21, "wrong in the admonition"
    ```

=== "Tab one"

    ```pycon
    >>> y = x * 10
    >>> y
    21
    ```

=== "Tab two"

    ```python
    assert y == 20  # passes: the tab above defined y in the page's namespace
    ```

```python
>>> [x] * 2
[2, 2, 2]
```

```python
--8<-- "included.py"
```

<!-- skip: next "shows a call that would download a model" -->
```python
raise RuntimeError("a skipped block must not run")
```

```python
assert x == 2
```
'''

NO_REASON = """\
<!-- skip: next -->
```python
pass
```
"""


def run_pytest_on(docs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(docs), "-p", "no:cacheprovider", "-q",
         "--rootdir", str(docs.parent), "-c", os.devnull],
        cwd=docs.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def test_seeded_failures_are_caught_with_page_and_line(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS_DIR / "conftest.py", docs / "conftest.py")
    (docs / "seeded.md").write_text(SEEDED, encoding="utf-8")
    (docs / "included.py").write_text('raise ValueError("raised by the included file")\n')

    run = run_pytest_on(docs)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    failed = sorted(int(n) for n in re.findall(r"^FAILED \S*seeded\.md::line:(\d+),column:\d+", out, re.MULTILINE))
    assert failed == [3, 11, 18, 30, 35], out  # the opening line of each seeded block
    assert "wrong in the admonition" in out
    assert "raised by the included file" in out
    assert 'File "' in out and 'seeded.md", line 5' in out  # doctest names the >>> line
    assert "1 skipped" in out and "a skipped block must not run" not in out
    assert "doc snippets: 7 blocks ran, 1 blocks marked skip" in out


def test_a_skip_mark_needs_a_reason(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS_DIR / "conftest.py", docs / "conftest.py")
    (docs / "page.md").write_text(NO_REASON, encoding="utf-8")
    run = run_pytest_on(docs)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "page.md, line 1: `skip: next` needs a reason" in out
