"""Write notebooks/*.ipynb from the cell lists in scripts/notebook_cells/ (outputs empty).

The notebooks are the product; this script only keeps them consistent (same header, install
cell and parameter checks) and reviewable as plain Python. Run it after editing a cell list:
``python scripts/build_notebooks.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CELLS = Path(__file__).parent / "notebook_cells"
REPO_URL = "https://github.com/sfdpo/sfdpo"

INSTALL = """import sys
if "google.colab" in sys.modules:  # on Colab: install the kit (a no-op everywhere else)
    get_ipython().system("pip -q install 'sfdpo[gpu] @ git+{repo}'")"""


def header(name: str, title: str) -> str:
    badge = f"{REPO_URL.replace('https://github.com', 'https://colab.research.google.com/github')}/blob/main/notebooks/{name}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({badge})\n\n# {title}"


def build(module_path: Path) -> Path:
    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    name = module_path.stem
    cells = [
        nbformat.v4.new_markdown_cell(header(name, mod.TITLE) + "\n\n" + mod.INTRO.strip()),
        nbformat.v4.new_code_cell(INSTALL.format(repo=REPO_URL)),
        nbformat.v4.new_code_cell(
            mod.IMPORTS.strip() + "\n\n_before = set(globals())  # names that are not parameters"
        ),
    ]
    params = nbformat.v4.new_code_cell(
        "# Parameters (papermill overrides these; defaults are the offline CPU demo)\n"
        + mod.PARAMETERS.strip()
        + "\n\n_defaults = defaults_of(globals(), _before)"
    )
    params.metadata["tags"] = ["parameters"]
    cells.append(params)
    # every notebook writes figures: create the folder once, after the parameters are checked
    cells.append(
        nbformat.v4.new_code_cell(mod.CHECK.strip() + "\nPath(figures_dir).mkdir(parents=True, exist_ok=True)")
    )
    for kind, text in mod.CELLS:
        text = text.strip("\n")
        cells.append(nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    out = ROOT / "notebooks" / f"{name}.ipynb"
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"{name[:2]}-{i:02d}"
    nbformat.write(nb, out)
    return out


def main(names: list[str]) -> None:
    for path in sorted(CELLS.glob("[0-9][0-9]_*.py")):
        if not names or path.stem in names:
            print("wrote", build(path).relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
