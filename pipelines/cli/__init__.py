"""The `trendscout` command: thin Typer commands over functions in `pipelines`.

Exit codes: 0 done; 1 could not start (bad settings, bad arguments, nothing to show);
3 finished but a step failed (see `trendscout status`); 75 another run holds the store.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from pipelines.cli import analyst as cli_analyst
from pipelines.cli import ops as cli_ops
from pipelines.cli import regions as cli_regions
from pipelines.cli import topics as cli_topics
from pipelines.cli import trends as cli_trends
from pipelines.cli.common import bars_of, open_store, reported_errors, settings_of
from pipelines.errors import TrendscoutError
from pipelines.logs import configure_logging
from pipelines.settings import load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="Detect emerging cross-sector themes in European cluster news, projects and patents.")


@app.callback()
def main(ctx: typer.Context,
         config: Path = typer.Option(Path("trendscout.toml"), "--config", "-c", envvar="TRENDSCOUT_CONFIG",
                                     help="Settings file (TOML); TRENDSCOUT_* variables override it."),
         verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug lines."),
         quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings; no progress bars.")) -> None:
    """Detect emerging cross-sector themes in European cluster news, projects and patents."""
    configure_logging(verbose=verbose, quiet=quiet)
    with reported_errors():
        ctx.obj = {"settings": load_settings(config), "quiet": quiet}


@app.command()
def nightly(ctx: typer.Context,
            source: list[str] = typer.Option(None, "--source", help="Crawl only these sources."),
            until: str = typer.Option(None, help="Stop after this step: crawl, ingest, embed, topics, detect."),
            digest: bool = typer.Option(None, "--digest/--no-digest",
                                        help="Write the weekly digest (default: on the configured weekday).")
            ) -> None:
    """Crawl, ingest, embed, assign topics and detect rising themes.

    Example: trendscout nightly --source cordis --digest
    """
    from pipelines.nightly import STEPS, run_nightly

    with reported_errors():
        if until is not None and until not in STEPS:
            raise TrendscoutError(f"--until must be one of {', '.join(STEPS)}")
        report = run_nightly(settings_of(ctx), sources=source or None, until=until, digest=digest,
                             bars=bars_of(ctx))
    typer.echo(report.summary())
    raise typer.Exit(report.exit_code)


@app.command()
def crawl(ctx: typer.Context,
          source: list[str] = typer.Option(None, "--source", help="Only these sources (default: enabled)."),
          since: str = typer.Option(None, help="Only what is new or changed since this ISO date.")) -> None:
    """Crawl sources into raw feed files under the data directory (then run `ingest`)."""
    from pipelines.ops.lock import StoreLock
    from pipelines.runs import RunRecorder
    from pipelines.steps.crawl import crawl as crawl_step

    with reported_errors():
        settings = settings_of(ctx)
        with StoreLock(settings.data_dir, "crawl", "crawl"), open_store(ctx) as store:
            run = RunRecorder(store, "crawl")
            result = run.record(crawl_step(store, settings, run.run_id, bars_of(ctx), sources=source or None,
                                           since=since))
            code = run.finish()
    typer.echo(result.summary())
    raise typer.Exit(code)


@app.command()
def ingest(ctx: typer.Context,
           path: Path = typer.Argument(None, help="A JSONL/CSV/Parquet corpus (columns id, title, text, date; "
                                                  "optional url, regions, sectors). Default: pending raw feeds."),
           source: str = typer.Option(None, help="Source name for the corpus's documents (required with PATH: "
                                                 "the same name again updates them instead of adding copies)."),
           kind: str = typer.Option("news", help="news, project, patent or paper.")) -> None:
    """Load pending raw feed files, or an analyst's own corpus, into the store (idempotent)."""
    from pipelines.steps.ingest import ingest as ingest_raw
    from pipelines.steps.ingest import ingest_corpus

    with reported_errors():
        settings = settings_of(ctx)
        if path is not None and not path.exists():
            raise TrendscoutError(f"{path} does not exist")
        if path is not None and not source:
            raise TrendscoutError("a corpus file needs --source NAME (e.g. --source my_news): documents are keyed "
                                  "by source and id, so the same name again updates them instead of adding copies")
        with open_store(ctx) as store:
            if path is None:
                result = ingest_raw(store, settings.raw_dir, bars_of(ctx))
            else:
                result = ingest_corpus(store, path, source, kind, bars_of(ctx))
    typer.echo(result.summary())


@app.command()
def embed(ctx: typer.Context) -> None:
    """Embed documents that have no vector for the configured model."""
    from pipelines.steps.embed import embed as embed_step

    with reported_errors(), open_store(ctx) as store:
        result = embed_step(store, settings_of(ctx).nlp, bars_of(ctx))
    typer.echo(result.summary())


@app.command()
def tag(ctx: typer.Context, text: str = typer.Argument(None, help="The text, or - to read it from stdin."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object."),
        lines: bool = typer.Option(False, "--lines", help="One text per stdin line; one JSON object per line.")
        ) -> None:
    """Print language, regions (strongest first) and sectors for a piece of text.

    Example: trendscout tag "Fraunhofer IPA opens a hydrogen test lab in Stuttgart"
    """
    from pipelines.steps.tag import TextTagger

    with reported_errors():
        if not lines and text is None:
            raise TrendscoutError("give a TEXT, - for stdin, or --lines")
        texts = [t.rstrip("\n") for t in sys.stdin] if lines else [sys.stdin.read() if text == "-" else text]
        started = time.monotonic()
        say = (lambda _: None) if ctx.obj["quiet"] else \
            (lambda step: typer.echo(f"[{time.monotonic() - started:4.1f}s] {step} ...", err=True))
        with open_store(ctx) as store:
            tagger = TextTagger(store, settings_of(ctx), say)
        say(f"tagging {len(texts)} text{'' if len(texts) == 1 else 's'}")
        results = tagger.tag(texts)
    if lines or as_json:
        for result in results:
            typer.echo(json.dumps(result, ensure_ascii=False))
        return
    result = results[0]
    typer.echo(f"language: {result['lang'] or 'unknown'}")
    for r in result["regions"]:
        typer.echo(f"region:   {r['code']:<6} {r['name'] or '':<32} level {r['level']}  "
                   f"{r['evidence']:<12} {r['weight']:.2f}")
    for s in result["sectors"]:
        typer.echo(f"sector:   {s['label']:<40} {s['score']:.2f}")


@app.command()
def distill(ctx: typer.Context,
            out: Path = typer.Option(None, help="Where to write it (default: models/static/<model>-m2v).")) -> None:
    """Distil a static model2vec embedder from the configured model: the fast path (about 2 minutes).

    Then set `[nlp] embedder = "static:PATH"` (or TRENDSCOUT_NLP__EMBEDDER=static:PATH).
    """
    import re

    from nlp.embed import distill_static

    settings = settings_of(ctx)
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", settings.nlp.embedder).strip("-")
    path = distill_static(settings.nlp.embedder, out or settings.models_dir / "static" / f"{slug}-m2v")
    typer.echo(f'static model written to {path}; use it with: embedder = "static:{path}"')


@app.command()
def digest(ctx: typer.Context, week: str = typer.Option(None, help="ISO week, e.g. 2026-W48 (default: this week).")
           ) -> None:
    """Write the weekly digest (HTML, Markdown, JSON) under reports/<ISO week>/."""
    from pipelines.steps.digest import write_digest

    with reported_errors(), open_store(ctx) as store:
        _, folder = write_digest(store, settings_of(ctx), week)
    typer.echo(str(folder))


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts per table and source, and the last runs with what failed."""
    from pipelines.views.status import collect_status, render_status

    with reported_errors(), open_store(ctx) as store:
        info = collect_status(store, settings_of(ctx))
    typer.echo(json.dumps(info, indent=2, default=str) if as_json else render_status(info))


@app.command()
def sources(ctx: typer.Context, names: bool = typer.Option(False, "--names", help="Names only, one per line.")
            ) -> None:
    """List every known source with its enabled flag and URLs."""
    from pipelines.steps.crawl import known_sources

    settings = settings_of(ctx)
    spiders = known_sources()
    for name in sorted(set(spiders) | set(settings.sources)):
        if names:
            typer.echo(name)
            continue
        source = settings.source(name)
        flag = "enabled " if source.enabled else "disabled"
        urls = source.urls or [f"{u} (default)" for u in spiders.get(name, [])]
        typer.echo(f"{name:<14} {flag}  {', '.join(urls) or '-'}")


cli_topics.register(app)
cli_trends.register(app)
cli_analyst.register(app)
cli_ops.register(app)
cli_regions.register(app)
