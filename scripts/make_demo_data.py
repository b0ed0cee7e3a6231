"""Build the offline demo data shipped in ``sfdpo_helpers/demo_data``.

    python scripts/make_demo_data.py            # rewrite the five files (deterministic)
    python scripts/make_demo_data.py --out DIR  # write them somewhere else

Every prompt is a small task from one of the study's ten categories plus one to three
verifiable instructions (none for about half of the SFT prompts) in IFEval's schema
(``instruction_id_list`` + ``kwargs``). Every response is *built*, never sampled from a model: the script
takes a hand-written answer (a
few short sentences, steps or verse lines from the YAML banks in ``scripts/demo_banks/``;
math and some classification answers are computed) and transforms it until it satisfies each instruction
(lowercase, word limits, bullets, JSON, quotes, P.S., sections, no commas, ...). A rejected
response is the same answer with one instruction broken (a forgotten P.S., a comma, the
wrong bullet count, too long, ...), or an off-topic, rambling or evasive reply. The reserve
pool (``prompt_pool.jsonl``) holds prompts only, from topics kept out of every other split. The script
checks all of this with its own copy of IFEval's rules, made a little stricter than IFEval
(word counts must hold both for ``\\w+`` tokens and whitespace tokens, keywords must match
both as substrings and as whole words, ...), so that any faithful IFEval judge agrees.

The code lives in the package ``scripts/demo_world/``, one module per concern (settings, banks, items,
instructions, answers, rejected answers, data card, files; see its docstring); this file is the command line
and keeps the generator's names reachable as its attributes. The output depends only on this script, that
package, the banks in ``scripts/demo_banks/`` (read with ``pyyaml``, every value as a string) and
``langdetect`` (IFEval's case checks require English as detected by it, so answers in capitals are screened
with it). The optional cross-checks
(``sfdpo_helpers.judges``, the real IFEval prompts in ``../shared``) only report, never choose.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
if str(SCRIPTS) not in sys.path:  # run as a file or loaded by path (the tests): make demo_world importable
    sys.path.insert(0, str(SCRIPTS))

from demo_world import answers, banks, card, config, files, instructions, items, rejected  # noqa: E402
from demo_world.answers import Example, Layout, build_example, render, render_prompt  # noqa: E402
from demo_world.banks import BankError, load_banks  # noqa: E402
from demo_world.card import data_card  # noqa: E402
from demo_world.config import CATEGORIES, OUT_DIR, SEED  # noqa: E402
from demo_world.files import (  # noqa: E402
    FILES,
    cross_check_with_judge,
    ifeval_overlap,
    main,
    make_pool,
    make_split,
    self_check,
    to_rows,
)
from demo_world.instructions import ALL_IDS, CONFLICTS, fails_some, follows, passes_all, verdict  # noqa: E402
from demo_world.items import Item, build_pools, build_reserve_pools  # noqa: E402
from demo_world.rejected import build_rejected, score_pair  # noqa: E402

__all__ = [
    "ALL_IDS",
    "BankError",
    "CATEGORIES",
    "CONFLICTS",
    "Example",
    "FILES",
    "Item",
    "Layout",
    "OUT_DIR",
    "SEED",
    "build_example",
    "build_pools",
    "build_rejected",
    "build_reserve_pools",
    "cross_check_with_judge",
    "data_card",
    "fails_some",
    "follows",
    "ifeval_overlap",
    "load_banks",
    "main",
    "make_pool",
    "make_split",
    "passes_all",
    "render",
    "render_prompt",
    "score_pair",
    "self_check",
    "to_rows",
    "verdict",
]

# Every other name the single-file generator had (``_CONFLICTS``, ``PHRASING``, ``_math_items``, ...) stays
# an attribute of this module: ``module.NAME`` looks it up in the package's modules.
_MODULES = (config, banks, items, instructions, answers, rejected, files, card)


def __getattr__(name):
    for module in _MODULES:
        if name in vars(module):
            return vars(module)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT_DIR), help="output folder (default: the package's demo_data)")
    parser.add_argument("--no-judge", action="store_true", help="skip the cross-check with sfdpo_helpers.judges")
    args = parser.parse_args()
    counts = main(args.out)
    print("wrote", counts, "to", args.out)
    texts = []
    for name in FILES.values():
        for line in (Path(args.out) / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row["prompt"] if "prompt" in row else row["messages"][0]["content"])
    overlap = ifeval_overlap(texts)
    print("IFEval overlap:", "IFEval file absent" if overlap is None else f"{len(overlap)} prompts")
    if not args.no_judge:
        try:
            print(cross_check_with_judge(Path(args.out)))
        except ImportError as err:
            print(f"judge cross-check skipped: {err}")
