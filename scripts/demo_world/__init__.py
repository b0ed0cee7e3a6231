"""The demo data world that ``scripts/make_demo_data.py`` builds, one concern per module:

- ``config``: the seed, paths, categories and split sizes;
- ``banks``: the YAML loader and checks, and the hand-written banks of ``scripts/demo_banks/``;
- ``items``: the ``Item`` topics and generated problems, split into training, held-out and reserve pools;
- ``instructions``: the instruction ids, which combine, how prompts state them, and the reference checks;
- ``answers``: rendering a chosen answer and building one example (ids, response, kwargs, prompt);
- ``rejected``: the rejected answers of the preference pairs and their scores;
- ``card``: the data card ``DATA_CARD.md``;
- ``files``: the splits, their rows and files, the self-checks and ``main``.

The modules import only from the ones above them in this list, so there are no import cycles.
"""
