"""Point the notebooks' Colab badges and install cells at the repository named in pyproject.toml.

The repository's address lives in one place, ``[project.urls] Repository`` of pyproject.toml. Working
from a fork: change it there, run ``python scripts/set_repo_url.py``, commit. ``--check`` only reports
notebooks that disagree (the tests run it).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/notebooks/")
INSTALL = re.compile(r"sfdpo\[api\] @ git\+https://github\.com/[^\"\\\s]*")  # the install line (.py and .ipynb)


def repository() -> str:
    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")
    if not url.startswith("https://github.com/"):
        raise SystemExit(f"Repository must be a https://github.com/OWNER/NAME address, got {url!r}")
    return url


def rewritten(text: str, url: str, branch: str = "main") -> str:
    owner_name = url.removeprefix("https://github.com/")
    text = BADGE.sub(f"https://colab.research.google.com/github/{owner_name}/blob/{branch}/notebooks/", text)
    return INSTALL.sub(f"sfdpo[api] @ git+{url}", text)


def main(argv: list[str]) -> int:
    url, stale = repository(), []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.*")):
        if path.suffix not in (".py", ".ipynb"):
            continue
        text = path.read_text()
        new = rewritten(text, url)
        if new != text:
            stale.append(path.name)
            if "--check" not in argv:
                path.write_text(new)
    if stale:
        print(("out of date: " if "--check" in argv else "rewritten: ") + ", ".join(stale) + f" (repository {url})")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
