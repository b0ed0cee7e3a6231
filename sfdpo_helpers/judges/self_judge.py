"""The policy as its own judge (LLM-as-judge), and :func:`agreement_rate` between two judges.

Used by notebook 03 to show how far a small model's own ratings agree with a
stronger judge's preferences. The rating is read from next-token probabilities,
never sampled, so it is deterministic and cheap (one or two forward passes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ._common import chat_text, check_lengths, last_logits, pad_id

SELF_JUDGE_TEMPLATE = (
    "Rate the response to the request below from 1 to 10, where 1 is useless or "
    "wrong and 10 is excellent. Answer with the number only.\n\n"
    "[Request]\n{prompt}\n\n[Response]\n{response}"
)


def _single_token_ids(tokenizer, text: str) -> list[int]:
    """Ids of the one-token spellings of ``text`` (bare and space-prefixed)."""
    found = []
    for variant in (text, " " + text):
        ids = tokenizer.encode(variant, add_special_tokens=False)
        if len(ids) == 1 and tokenizer.decode(ids).strip() == text and ids[0] not in found:
            found.append(ids[0])
    return found


class SelfJudge:
    """LLM-as-judge with the policy model: the expected 1-10 rating, no sampling.

    The judge prompt (``template``, sent as a user turn through the model's
    chat template, then the assistant turn starts) asks for a rating from 1
    to 10. From the next-token distribution the probabilities of the digit
    tokens "1".."9" (bare or space-prefixed) and "10" are read; when "10" is
    not one token, one more decoding step (on the KV cache) splits P("1") into "1" and "10" with
    P("0" after "1"). The returned score is the expectation over 1..10 with those
    probabilities renormalised, in [1, 10]. Batches are left-padded with
    explicit position ids (``collators.pad(side="left")``), so batching does
    not change scores (up to float rounding); the start every row shares (the
    chat template and the judge template) runs once per batch, its KV cache
    repeated for every row (``last_logits(share_prefix=True)``).
    """

    def __init__(
        self, model, tokenizer, batch_size: int = 8, template: str = SELF_JUDGE_TEMPLATE, answer_prefix: str = ""
    ):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size, self.template, self.answer_prefix = int(batch_size), template, answer_prefix
        self.digit_ids = {k: _single_token_ids(tokenizer, str(k)) for k in range(1, 10)}
        missing = [k for k, ids in self.digit_ids.items() if not ids]
        if missing:
            raise ValueError(f"the tokenizer has no single token for the digits {missing}")
        self.ten_ids = _single_token_ids(tokenizer, "10")
        self.zero_ids = _single_token_ids(tokenizer, "0")

    def __repr__(self) -> str:
        return f"SelfJudge({type(self.model).__name__}, batch_size={self.batch_size})"

    def _ids(self, prompt: str, response: str) -> list[int]:
        text = self.template.format(prompt=prompt, response=response)
        if getattr(self.tokenizer, "chat_template", None):
            text = chat_text(self.tokenizer, [{"role": "user", "content": text}], True)
        else:
            text += "\n\nRating:"
        return self.tokenizer(text + self.answer_prefix, add_special_tokens=False)["input_ids"]

    def probabilities(self, prompts: Sequence[str], responses: Sequence[str]):
        """Tensor (n, 10): the judge's probabilities of ratings 1..10."""
        import torch

        check_lengths(prompts, responses)
        rows = [self._ids(p, r) for p, r in zip(prompts, responses)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # batches of similar lengths: little padding
        out = [
            self._batch_probs([rows[i] for i in order[start : start + self.batch_size]])
            for start in range(0, len(order), self.batch_size)
        ]
        if not out:
            return torch.zeros((0, 10))
        probs = torch.empty((len(rows), 10), dtype=out[0].dtype)
        probs[order] = torch.cat(out)  # back in input order
        return probs

    def _batch_probs(self, rows: list[list[int]]):
        import torch

        pad = pad_id(self.tokenizer)
        two_pass = not self.ten_ids and bool(self.zero_ids)
        one = self.digit_ids[1][0]
        logits = last_logits(self.model, rows, pad, then=one if two_pass else None, share_prefix=True)
        logp = torch.log_softmax(logits[0] if two_pass else logits, dim=-1)
        cand = [torch.logsumexp(logp[:, self.digit_ids[k]], -1) for k in range(1, 10)]
        if self.ten_ids:
            cand.append(torch.logsumexp(logp[:, self.ten_ids], -1))
        elif two_pass:
            logp2 = torch.log_softmax(logits[1], dim=-1)
            p_zero = torch.logsumexp(logp2[:, self.zero_ids], -1).exp().clamp(0.0, 1.0 - 1e-7)
            cand.append(cand[0] + torch.log(p_zero))
            cand[0] = cand[0] + torch.log1p(-p_zero)
        else:
            cand.append(torch.full_like(cand[0], -math.inf))
        return torch.softmax(torch.stack(cand, dim=-1), dim=-1)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Expected rating in [1, 10] for each (prompt, response)."""
        import torch

        probs = self.probabilities(prompts, responses)
        return (probs @ torch.arange(1, 11, dtype=probs.dtype)).tolist()


def agreement_rate(
    scores_a: Sequence[float], scores_b: Sequence[float], pairs: Iterable[tuple[int, int]] | None = None
) -> float:
    """How often two judges prefer the same response of each pair.

    ``pairs`` are index pairs (i, j) into both score lists (default: (0, 1),
    (2, 3), ...). A pair counts 1 when both judges prefer the same side (or
    both call it a tie), 0 when they prefer opposite sides, and 1/2 when only
    one of them calls it a tie.
    """
    if len(scores_a) != len(scores_b):
        raise ValueError(f"scores_a has {len(scores_a)} items but scores_b has {len(scores_b)}")
    if pairs is None:
        pairs = [(i, i + 1) for i in range(0, len(scores_a) - 1, 2)]

    def side(scores, i, j):
        a, b = float(scores[i]), float(scores[j])
        return 0 if math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9) else (1 if a > b else -1)

    total, n = 0.0, 0
    for i, j in pairs:
        sa, sb = side(scores_a, i, j), side(scores_b, i, j)
        total += 1.0 if sa == sb else (0.5 if 0 in (sa, sb) else 0.0)
        n += 1
    if n == 0:
        raise ValueError("no pairs to compare")
    return total / n


def cohen_kappa(labels_a: Sequence[int], labels_b: Sequence[int]) -> float:
    """Cohen's κ of two raters' 0/1 labels of the same items: agreement beyond what their label frequencies give
    by chance,

        κ = (p_o − p_e) / (1 − p_e),   p_o = share of items labelled alike,
        p_e = p_a·p_b + (1 − p_a)(1 − p_b),   p_a, p_b = each rater's share of 1s.

    κ = 1 is perfect agreement, 0 is chance; when both raters give every item the same label (p_e = 1), κ is 1.
    Agreement alone is easy when most answers are wrong: two raters who each say "wrong" with probability 0.9,
    independently, agree by chance on 0.9² + 0.1² = 0.82 of the items.
    """
    if len(labels_a) != len(labels_b) or not labels_a:
        raise ValueError(f"κ needs two label lists of the same, non-zero length ({len(labels_a)}, {len(labels_b)})")
    n = len(labels_a)
    observed = sum(a == b for a, b in zip(labels_a, labels_b)) / n
    pa, pb = sum(labels_a) / n, sum(labels_b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)
