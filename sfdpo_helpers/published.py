"""The published run's executed notebooks: copied beside its results page, readable where no kernel runs.

Executed notebooks keep what a cell printed while it ran: a progress bar is saved as its updates joined by
carriage returns, which GitHub and nbviewer show from the first ("0/272"). :func:`final_progress` keeps what a
terminal shows, each line's text after its last carriage return. The explorers' first views are plain HTML in the
outputs already; widget state is left as it is (a viewer without a kernel shows the static view).
"""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path

from .files import atomic_write_text


def final_progress(text: str) -> str:
    """Each line of ``text`` as a terminal leaves it: the part after the line's last carriage return."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _clean(notebook: dict) -> dict:
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
                output["text"] = final_progress(text)
    return notebook


def copy_executed_notebooks(executed: Path, dest: Path) -> list[str]:
    """Copy ``executed/0*.ipynb`` to ``dest`` with progress bars in their final state; the names copied."""
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for path in sorted(Path(executed).glob("0*.ipynb")):
        atomic_write_text(dest / path.name, json.dumps(_clean(json.loads(path.read_text())), indent=1) + "\n")
        names.append(path.name)
    return names


def kit_version(root: Path | None = None) -> str:
    """The kit's version and, in a git checkout, the commit that made the run (``0.1.0, commit 1a2b3c4``)."""
    version = metadata.version("sfdpo")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root or Path(__file__).parent,
                                capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return version
    return f"{version}, commit {commit}"
