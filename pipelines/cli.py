"""The `trendscout` command: thin Typer commands over functions in `pipelines`.

Exit codes: 0 done; 1 could not start (bad settings, bad arguments, nothing to show);
3 finished but a step failed (see `trendscout status`); 75 another run holds the store.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import typer

from pipelines.errors import TrendscoutError
from pipelines.logs import Bars, configure_logging
from pipelines.settings import Settings, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Detect emerging cross-sector themes in European cluster news, projects and patents.")
topics_app = typer.Typer(no_args_is_help=True, help="Fit, list and inspect the topic model.")
app.add_typer(topics_app, name="topics")


@contextmanager
def reported_errors():
    """Turn a TrendscoutError into one line on stderr and its exit code."""
    try:
        yield
    except TrendscoutError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj["settings"]


def _bars(ctx: typer.Context) -> Bars:
    return Bars(enabled=False) if ctx.obj["quiet"] else Bars()


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


def _store(ctx: typer.Context):
    from pipelines.store import Store

    return Store.open(_settings(ctx).store_path)


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
        report = run_nightly(_settings(ctx), sources=source or None, until=until, digest=digest,
                             bars=_bars(ctx))
    typer.echo(report.summary())
    raise typer.Exit(report.exit_code)


@app.command()
def crawl(ctx: typer.Context,
          source: list[str] = typer.Option(None, "--source", help="Only these sources (default: enabled)."),
          since: str = typer.Option(None, help="Only what is new or changed since this ISO date.")) -> None:
    """Crawl sources into raw feed files under the data directory (then run `ingest`)."""
    from pipelines.crawl import crawl as crawl_step
    from pipelines.lock import StoreLock
    from pipelines.runs import RunRecorder

    with reported_errors():
        settings = _settings(ctx)
        with StoreLock(settings.data_dir, "crawl", "crawl"), _store(ctx) as store:
            run = RunRecorder(store, "crawl")
            result = run.record(crawl_step(store, settings, run.run_id, _bars(ctx), sources=source or None,
                                           since=since))
            code = run.finish()
    typer.echo(result.summary())
    raise typer.Exit(code)


@app.command()
def ingest(ctx: typer.Context,
           path: Path = typer.Argument(None, help="A JSONL/CSV/Parquet corpus (columns id, title, text, date; "
                                                  "optional url, regions, sectors). Default: pending raw feeds."),
           source: str = typer.Option(None, help="Source name for the corpus's documents."),
           kind: str = typer.Option("news", help="news, project or patent.")) -> None:
    """Load pending raw feed files, or an analyst's own corpus, into the store (idempotent)."""
    from pipelines.ingest import ingest as ingest_raw
    from pipelines.ingest import ingest_corpus

    with reported_errors():
        settings = _settings(ctx)
        if path is not None and not path.exists():
            raise TrendscoutError(f"{path} does not exist")
        with _store(ctx) as store:
            if path is None:
                result = ingest_raw(store, settings.raw_dir, _bars(ctx))
            else:
                result = ingest_corpus(store, path, source or path.stem, kind, _bars(ctx))
    typer.echo(result.summary())


@app.command()
def embed(ctx: typer.Context) -> None:
    """Embed documents that have no vector for the configured model."""
    from pipelines.embed import embed as embed_step

    with reported_errors(), _store(ctx) as store:
        result = embed_step(store, _settings(ctx).nlp, _bars(ctx))
    typer.echo(result.summary())


@topics_app.command("fit")
def topics_fit(ctx: typer.Context) -> None:
    """Fit the topic model now (also assigns every embedded document)."""
    from pipelines.assign import topics_step

    with reported_errors(), _store(ctx) as store:
        result = topics_step(store, _settings(ctx), _bars(ctx), force_fit=True)
    typer.echo(result.summary())


@topics_app.command("list")
def topics_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the active topics with their size and label."""
    with reported_errors(), _store(ctx) as store:
        frame = store.df("SELECT t.topic_id, t.label, count(a.doc_id) AS n_docs, t.born_on, t.model_version "
                         "FROM topics t LEFT JOIN topic_assignments a USING (topic_id) "
                         "WHERE t.status = 'active' GROUP BY ALL ORDER BY n_docs DESC")
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso"))
    else:
        for row in frame.itertuples():
            typer.echo(f"{row.topic_id:>5}  {row.n_docs:>6}  {row.label}")


@topics_app.command("show")
def topics_show(ctx: typer.Context, topic_id: int) -> None:
    """Show one topic: label, terms and its newest documents."""
    from pipelines.errors import NotFound

    with reported_errors(), _store(ctx) as store:
        topic = store.df("SELECT * FROM topics WHERE topic_id = ?", [topic_id])
        if topic.empty:
            raise NotFound(f"no topic {topic_id}; see 'trendscout topics list'")
        docs = store.df("SELECT d.doc_id, d.published_on, d.title FROM topic_assignments a JOIN documents d "
                        "USING (doc_id) WHERE a.topic_id = ? ORDER BY d.published_on DESC LIMIT 10", [topic_id])
    row = topic.iloc[0]
    typer.echo(f"topic {topic_id}: {row['label']} ({row['status']}, born {row['born_on']})")
    typer.echo("terms: " + ", ".join(json.loads(row["terms"] or "[]")))
    for doc in docs.itertuples():
        typer.echo(f"  {doc.published_on}  {doc.doc_id}  {doc.title[:100]}")


@app.command()
def detect(ctx: typer.Context) -> None:
    """Score topics for growth and write the ranked trend scores."""
    from pipelines.detect import detect as detect_step
    from pipelines.runs import new_run_id

    with reported_errors(), _store(ctx) as store:
        result = detect_step(store, _settings(ctx).trends, new_run_id())
    typer.echo(result.summary())


@app.command()
def trends(ctx: typer.Context, as_json: bool = typer.Option(False, "--json"),
           top: int = typer.Option(20, help="How many topics to show.")) -> None:
    """Show the latest ranked themes with their growth figures."""
    from pipelines.detect import latest_detection
    from pipelines.errors import NotFound

    with reported_errors(), _store(ctx) as store:
        detect_id = latest_detection(store)
        if detect_id is None:
            raise NotFound("no trend scores yet; run 'trendscout nightly' first")
        frame = store.df("SELECT s.rank, s.topic_id, t.label, s.flagged, s.growth, s.n_recent, s.n_baseline, "
                         "s.p_value, s.q_value, s.score FROM trend_scores s LEFT JOIN topics t USING (topic_id) "
                         "WHERE detect_id = ? ORDER BY rank LIMIT ?", [detect_id, top])
    if as_json:
        typer.echo(json.dumps({"detect_id": detect_id, "themes": frame.to_dict("records")}, default=str))
        return
    for row in frame.itertuples():
        mark = "*" if row.flagged else " "
        typer.echo(f"{row.rank:>3}{mark} x{row.growth:5.2f}  n={row.n_recent:<4} q={row.q_value:.2g}  {row.label}")


@app.command()
def digest(ctx: typer.Context, week: str = typer.Option(None, help="ISO week, e.g. 2026-W48 (default: this week).")
           ) -> None:
    """Write the weekly digest (HTML, Markdown, JSON) under reports/<ISO week>/."""
    from pipelines.digest import write_digest

    with reported_errors(), _store(ctx) as store:
        _, folder = write_digest(store, _settings(ctx), week)
    typer.echo(str(folder))


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts per table and source, and the last runs with what failed."""
    from pipelines.status import collect_status, render_status

    with reported_errors(), _store(ctx) as store:
        info = collect_status(store, _settings(ctx))
    typer.echo(json.dumps(info, indent=2, default=str) if as_json else render_status(info))


@app.command()
def sources(ctx: typer.Context, names: bool = typer.Option(False, "--names", help="Names only, one per line.")
            ) -> None:
    """List every known source with its enabled flag and URLs."""
    from pipelines.crawl import known_sources

    settings = _settings(ctx)
    every = sorted(set(known_sources()) | set(settings.sources))
    for name in every:
        if names:
            typer.echo(name)
            continue
        source = settings.source(name)
        flag = "enabled " if source.enabled else "disabled"
        typer.echo(f"{name:<14} {flag}  {', '.join(source.urls) or '(spider defaults)'}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
