"""The stage graph: which stages exist, what each needs, and how a job's stages run.

Adding a stage is one module under ``app/stages/`` (its name, options, file names and runner,
ending in a ``STAGE``) plus one line in ``STAGES`` below. The CLI, the job API, the folder
runner and the web page (through ``GET /v1/stages``) read names and options from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from app.stages import classify, fit, ocr, subtitles
from app.stages.context import Stage, StageContext, StageOutcome
from pipelines.exceptions import OptionsError

__all__ = ["DEFAULT_STAGES", "STAGES", "normalise_options", "plan", "run_stages", "stage", "validate_options"]

# Registry order is a valid topological order (a stage comes after what it needs or uses).
STAGES: dict[str, Stage[Any]] = {  # Any: each stage has its own options type
    s.name: s
    for s in (
        ocr.STAGE,  # before subtitles, which offers its on-screen text to Whisper
        subtitles.STAGE,
        classify.STAGE,
        fit.STAGE,
    )
}

DEFAULT_STAGES: tuple[str, ...] = (subtitles.NAME,)  # what a request that names none runs

OnStage = Callable[[str, str, StageOutcome | None], None]


def stage(name: str) -> Stage[Any]:
    """The stage called ``name`` (raises OptionsError naming the valid ones)."""
    if name not in STAGES:
        raise OptionsError(f"Unknown stage {name!r}. Valid stages: {', '.join(STAGES)}.")
    return STAGES[name]


def validate_options(name: str, options: Mapping[str, object]) -> None:
    """Parse a stage's options as its runner will, without running it (raises OptionsError)."""
    stage(name).parse(options)


def normalise_options(stages: list[str],
                      options: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """Canonical options of each planned stage (defaults filled in), as a job stores them.

    Raises:
        OptionsError: an unknown stage or option, or a bad value.
    """
    return {name: stage(name).normalise(options.get(name, {})) for name in plan(stages)}


def plan(requested: list[str] | tuple[str, ...]) -> list[str]:
    """Requested stages plus what they need, in dependency order.

    Raises:
        OptionsError: for an unknown stage name or an empty request.
    """
    if not requested:
        raise OptionsError(f"No stages requested. Valid stages: {', '.join(STAGES)}.")
    order: list[str] = []
    wanted = set(requested)

    def visit(name: str) -> None:
        node = stage(name)
        if name in order:
            return
        for dep in node.needs:
            visit(dep)
        for dep in node.uses:  # optional inputs run first when they were requested too
            if dep in wanted:
                visit(dep)
        order.append(name)

    for name in STAGES:  # registry order first: keeps the output stable
        if name in wanted:
            visit(name)
    for name in requested:
        visit(name)
    return order


def run_stages(
    ctx: StageContext,
    stages: list[str],
    options: Mapping[str, Mapping[str, object]],
    on_stage: OnStage = lambda name, state, outcome: None,
) -> dict[str, StageOutcome]:
    """Run stages in dependency order. ``on_stage(name, "running"|"done", outcome)`` reports state.

    A stage's exception propagates (the caller marks the job failed); earlier outcomes stay in
    ``ctx.outputs``.
    """
    for name in plan(stages):
        on_stage(name, "running", None)
        started = time.monotonic()
        outcome = STAGES[name].run(ctx, options.get(name, {}))
        outcome = replace(outcome, seconds=round(time.monotonic() - started, 3))
        ctx.outputs[name] = outcome
        on_stage(name, "done", outcome)
    return ctx.outputs
