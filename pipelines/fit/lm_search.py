"""The language model's part of a fit: when SmolLM2 is asked, what it is asked, on which thread.

An LM call is the slow part of a fit (0.3-0.6 s on a quiet 2-core machine, more under load),
and a sentence has a time budget (``FitOptions.time_budget_s``, 0.5 s by default). Waiting for
the rules, trims and parser deletions before starting it left the LM too little of the budget
on a loaded machine, so ``LMSearch.start`` runs a call on a thread of its own, beside that
search (llama.cpp releases the interpreter's lock while it computes). When the search finds
an acceptable fitting answer without it, ``Pending.cancel`` stops the call between two decoding
steps; otherwise ``Pending.result`` collects its proposals.

``LMSearch.in_time`` says whether a call can finish in the time left, from what recent calls
took (a loaded machine makes them slow); every eighth refusal starts one anyway, to learn when
the machine is quicker again.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from pipelines.fit.lm import LanguageModel
from pipelines.fit.rules import rule_candidates, tidy, trims

log = logging.getLogger(__name__)

Proposals = list[tuple[str, str]]


@dataclass(frozen=True)
class LMRequest:
    """One call: shorten ``source`` to ``ratio`` of its length.

    Attributes:
        source: the text to shorten (the rule-compressed form, or a closer earlier proposal).
        ratio: the slot over the source's estimate.
        language: the text's language (rules applied to the proposals afterwards).
        reading: reading mode (abbreviations allowed in the rules applied afterwards).
        sampled: sampled proposals per call.
        greedy: also decode greedily.
        attempt: which call this is for the text (new samples on each).
    """

    source: str
    ratio: float
    language: str
    reading: bool
    sampled: int
    greedy: bool
    attempt: int = 0


@dataclass
class Pending:
    """An LM call running on the search's thread."""

    future: Future[Proposals]
    stop: threading.Event

    def result(self, deadline: float | None = None) -> Proposals:
        """Its proposals, waiting until ``deadline`` at most (the call stops between two decoding
        steps at its deadline, but reading in the prompt is one step that a loaded machine can make
        long: then the call is stopped and left to end on its own)."""
        try:
            return self.future.result(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.stop.set()
            return []

    def cancel(self) -> None:
        """Stop the call between two decoding steps, without waiting for it (its answer is not
        needed; the next call waits its turn on the search's thread)."""
        self.stop.set()


class LMSearch:
    """Runs the LM for a sentence fitter: one call at a time, on one thread of its own."""

    def __init__(self, lm: LanguageModel) -> None:
        self.lm = lm
        self.seconds = 0.0  # recent wall time of a call (0: not measured yet)
        self._skips = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fit-lm")

    def in_time(self, left: float, min_s: float, *, probe: bool = True) -> bool:
        """Whether a call can finish in ``left`` seconds (see the module docstring)."""
        if left == float("inf") or left >= max(min_s, self.seconds):
            return True
        self._skips += 1
        if probe and left >= min_s and self._skips >= 8:
            self._skips = 0
            return True
        return False

    def start(self, request: LMRequest, deadline: float | None) -> Pending:
        """Start a call on the search's thread; it stops at ``deadline`` or when cancelled."""
        stop = threading.Event()
        return Pending(self._executor.submit(self.propose, request, deadline, stop), stop)

    def propose(self, request: LMRequest, deadline: float | None = None,
                stop: threading.Event | None = None) -> Proposals:
        """``(method, text)`` proposals for ``request``: the LM's, and each with the rules and
        trims applied on top (an LM failure is logged and gives none)."""
        started = time.monotonic()
        try:
            # Asking for fewer words than the slot allows: the model overshoots what it is asked.
            texts = self.lm.shorten([request.source], target_ratio=request.ratio * 0.75,
                                    sampled=request.sampled, greedy=request.greedy,
                                    attempt=request.attempt, deadline=deadline, stop=stop)
        except Exception:  # the LM is an optional helper; rules and trims still give an answer
            log.exception("LM shortening failed; continuing with rule candidates")
            return []
        late = deadline is not None and time.monotonic() >= deadline
        if stop is not None and stop.is_set() and not late:
            return []  # cancelled, not needed: its time says nothing about the machine
        took = time.monotonic() - started
        if late:
            took *= 1.5  # stopped at the deadline: a whole call takes longer than that
        self.seconds = took if not self.seconds else 0.7 * self.seconds + 0.3 * took
        out: Proposals = []
        for proposal in dict.fromkeys(tidy(p, like=request.source) for p in texts):
            out.append(("lm", proposal))
            further = rule_candidates(proposal, request.language, reading=request.reading)
            if further:
                out.append(("lm+rules", further[-1][1]))
            out.extend(("lm+trim", t) for t in trims(further[-1][1] if further else proposal))
        return out
