"""Settings of the demo world: the seed, the paths, the ten categories and the split sizes."""

from __future__ import annotations

from pathlib import Path

SEED = 20250101
REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "sfdpo_helpers" / "demo_data"
IFEVAL_DEV = REPO.parent / "shared" / "data" / "ifeval" / "ifeval_dev.jsonl"

CATEGORIES = [
    "math_reasoning",
    "general_knowledge",
    "science_explanation",
    "creative_writing",
    "professional_writing",
    "instructions_procedures",
    "multilingual",
    "open_discussion",
    "imitation_writing",
    "classification",
]
PER_CATEGORY = {"sft": 100, "pairs": 100, "dev": 25, "eval": 25}
DEV_FIRST_KEY = 1001
SPLIT_SEED = {"dev": "eval", "eval": "test"}  # the dev split keeps the seeds the first held-out split had
