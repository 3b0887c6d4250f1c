"""Combinations of optional cuts: the cheapest sets of deletions that make a sentence fit.

``syntax.plan`` takes cuts greedily, one after another, so when one step loses a fact every
later step loses it too, and a sentence that needed two cheap cuts somewhere else never gets
them. This search looks at sets of cuts instead, cheapest total meaning lost first (a
best-first walk over sets, each set grown only by cuts after its last one, so no set is seen
twice). A set whose text the meaning guard refuses is not grown: dropping more never gives back
a number, a name or a content word. The first sets whose text fits are the answers.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from pipelines.fit.syntax import Cut, apply_cuts


def cheapest_fits(
    text: str, cuts: Sequence[Cut], *, fits: Callable[[str], bool], allowed: Callable[[str], bool],
    need: int = 0, limit: int = 6, max_sets: int = 400, max_cost: float = 8.0,
) -> list[tuple[str, float, list[Cut]]]:
    """Up to ``limit`` texts that fit, each ``text`` without one set of ``cuts``, cheapest first.

    Args:
        text: the text the cuts' offsets point into.
        cuts: the optional cuts (``syntax.optional_cuts``); overlapping ones never go together.
        fits: whether a text fits the slot.
        allowed: whether a text keeps the facts (the meaning guard); a refused set is not grown.
        need: characters the cuts must save, about (0: unknown); a set that could not save that
            many even with every later cut is not grown.
        limit: answers wanted.
        max_sets: sets looked at, at most (each costs a string rebuild and a guard check).
        max_cost: the most meaning a set may lose (the sum of its cuts' costs).

    Returns:
        ``[(text, cost, cuts), ...]`` in order of cost, at most ``limit``.
    """
    order = sorted(cuts, key=lambda c: (c.cost, -c.saved))
    heap: list[tuple[float, int, tuple[int, ...]]] = [
        (c.cost, -c.saved, (i,)) for i, c in enumerate(order) if c.cost <= max_cost]
    heapq.heapify(heap)
    # What the cuts from each position on could save together, at most (overlaps ignored).
    reach = [0] * (len(order) + 1)
    for i in range(len(order) - 1, -1, -1):
        reach[i] = reach[i + 1] + order[i].saved
    seen: set[str] = set()
    out: list[tuple[str, float, list[Cut]]] = []
    looked = 0
    while heap and looked < max_sets and len(out) < limit:
        cost, _, picked = heapq.heappop(heap)
        looked += 1
        chosen = [order[i] for i in picked]
        candidate = apply_cuts(text, chosen)
        if candidate in seen or not candidate or not allowed(candidate):
            continue
        seen.add(candidate)
        if fits(candidate):
            out.append((candidate, cost, chosen))
            continue  # a further cut would only lose more
        saved = sum(c.saved for c in chosen)
        if saved + reach[picked[-1] + 1] < need:
            continue
        for j in range(picked[-1] + 1, len(order)):
            nxt = order[j]
            if cost + nxt.cost <= max_cost and not any(nxt.overlaps(c) for c in chosen):
                heapq.heappush(heap, (cost + nxt.cost, -(saved + nxt.saved), (*picked, j)))
    return out
