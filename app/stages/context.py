"""What every stage shares: what a stage is, what it gets, what it returns, and how it writes.

A stage takes a ``StageContext`` (the media, the output folder, the worker's loaded models, a
progress callback and the outcomes of the stages that ran before it) plus its parsed options,
writes its files into the output folder atomically, and returns a ``StageOutcome``. Later stages
read earlier stages' files (not memory), so a retried job or another worker sees the same inputs.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic

from app.jobs import StageStatus
from app.stages.options import OptionsT, describe_options, dump_options, parse_options
from pipelines.media import MediaInfo

if TYPE_CHECKING:
    from app.model_cache import ModelCache
    from pipelines.demux import MediaPass
    from pipelines.screen_feed import ScreenFeed

Progress = Callable[[float], None]

__all__ = ["NoOptions", "Stage", "StageAborted", "StageContext", "StageOutcome", "StageView", "dir_mode",
           "file_mode", "process_umask", "read_json", "write_atomic", "write_json"]


class StageAborted(Exception):
    """Raised by a stage's progress callback when a stage running beside it failed or stopped:
    the job ends with that stage's error, and this one stops at its next report."""


@dataclass(frozen=True)
class StageOutcome:
    """What a stage did: ``SUCCEEDED`` or ``SKIPPED`` (with a reason), a JSON-able summary, files."""

    status: StageStatus
    summary: dict[str, Any]
    files: tuple[str, ...] = ()
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class StageContext:
    """Everything a stage may use. ``outputs`` holds the outcomes of earlier stages by name.

    ``run_stages`` hands each stage a copy with its own ``progress``, its share of the job's
    CPU threads (``threads``; 0: the engines' own default), for stages that run beside the
    ``ocr`` stage the ``screen`` feed that stage publishes its text into as it reads it, and for
    stages that decode the media at the same time the one pass over it they share (``media``),
    and ``spare_cores()``: the job's cores that no other stage is using at this moment (the
    others ended, or wait on the screen feed), which a stage may use for a while on top of its
    share.
    """

    media_path: Path
    out_dir: Path
    models: ModelCache  # the worker's loaded models
    progress: Progress = lambda fraction: None
    outputs: dict[str, StageOutcome] = field(default_factory=dict)
    info: MediaInfo | None = None
    threads: int = 0
    screen: ScreenFeed | None = None
    media: MediaPass | None = None
    spare_cores: Callable[[], int] = lambda: 0


@dataclass(frozen=True)
class StageView:
    """How the web page shows a stage's results, so that the page needs no stage names.

    Attributes:
        section: the page's section for it: ``transcript`` (the player's transcript and
            subtitles), ``screen_text``, ``verdict`` or ``fit``.
        data: the JSON file of the stage's results the section reads.
        track: a WebVTT file of the stage's results the player offers.
        captions: a WebVTT file of subtitles the stage found (burned-in captions read off the
            frames) the player offers beside the speech subtitles, in its language switch.
    """

    section: str
    data: str | None = None
    track: str | None = None
    captions: str | None = None


@dataclass(frozen=True)
class Stage(Generic[OptionsT]):
    """A node of the stage graph: its name, options, runner and dependencies.

    Attributes:
        name: the stage's name in requests, results and the CLI.
        options: returns its frozen options dataclass (a job's options are parsed into it);
            a function, so that the API imports no heavy pipeline module until it parses.
        runner: runs the stage on one media file with parsed options.
        description: one line for people (the web page, ``GET /v1/stages``).
        label: a short title for people; the name when empty.
        needs: stages that run first (added to a request that lacks them).
        uses: optional inputs: these run first when they were requested too.
        overlaps: stages of ``uses`` this one reads while they run (``StageContext.screen``):
            it starts beside them, not after them.
        reads: the media tracks it decodes (``audio``, ``video``); stages that run at once
            share one pass over the file (``StageContext.media``).
        fixed: fields of ``options`` a job may not set.
        models: the registry names of the models these options need (checked at submit).
        view: how the web page shows the results; None: only in the list of files.
    """

    name: str
    options: Callable[[], type[OptionsT]]
    runner: Callable[[StageContext, OptionsT], StageOutcome]
    description: str = ""
    label: str = ""
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    overlaps: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    fixed: frozenset[str] = frozenset()
    models: Callable[[OptionsT], tuple[str, ...]] = lambda options: ()
    view: StageView | None = None

    def parse(self, values: Mapping[str, object]) -> OptionsT:
        """A job's options for this stage, parsed (raises OptionsError)."""
        return parse_options(self.options(), self.name, values, self.fixed)

    def normalise(self, values: Mapping[str, object]) -> dict[str, object]:
        """A job's options in canonical JSON form: every settable option, defaults filled in."""
        return dump_options(self.parse(values), self.fixed)

    def required_models(self, values: Mapping[str, object]) -> tuple[str, ...]:
        """The models a job with these options will load."""
        return self.models(self.parse(values))

    def run(self, ctx: StageContext, values: Mapping[str, object]) -> StageOutcome:
        return self.runner(ctx, self.parse(values))

    def describe(self) -> dict[str, object]:
        """The JSON description clients read: name, description, dependencies, option fields."""
        return {"name": self.name, "label": self.label or self.name, "description": self.description,
                "needs": list(self.needs),
                "uses": list(self.uses), "options": describe_options(self.options(), self.fixed),
                "view": asdict(self.view) if self.view else None}


@dataclass(frozen=True)
class NoOptions:
    """The options of a stage that has none."""


_PROC_STATUS = Path("/proc/self/status")


@functools.cache
def process_umask() -> int:
    """The process's umask, read once. Linux shows it in ``/proc/self/status``, read without
    changing it; elsewhere it is set and put back (``os.umask`` changes it for the whole process,
    so that first read is made at import, at start-up, before any thread writes files)."""
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


process_umask()  # now, at import: the fallback above must not race threads that create files


def file_mode() -> int:
    """The mode of a result file: what the umask lets ``open()`` give (0o644 under 022), not
    ``mkstemp``'s owner-only 0o600, so a web server or a translation team can read results."""
    return 0o666 & ~process_umask()


def dir_mode() -> int:
    """The mode of a result folder: what the umask lets ``mkdir`` give, not ``mkdtemp``'s 0o700."""
    return 0o777 & ~process_umask()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file under a temporary name and rename it into place (never half written), with
    the mode the process's umask allows (``file_mode``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: object) -> None:
    """``obj`` as indented UTF-8 JSON, written atomically."""
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """An earlier stage's JSON document, or ``{}`` when it is missing or unreadable."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
