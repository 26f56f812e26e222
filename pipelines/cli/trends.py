"""`trendscout detect`, `trends` and `backtest`: score topics, show the ranked flags, replay history."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipelines.cli.common import bars_of, open_store, reported_errors, settings_of


def register(app: typer.Typer) -> None:
    app.command()(detect)
    app.command()(trends)
    app.command()(backtest)


def detect(ctx: typer.Context) -> None:
    """Score topics and their region / sector cells, and write the ranked flags."""
    from pipelines.runs import new_run_id
    from pipelines.steps.detect import detect as detect_step

    with reported_errors(), open_store(ctx) as store:
        result = detect_step(store, settings_of(ctx).trends, new_run_id())
    typer.echo(result.summary())


def trends(ctx: typer.Context, region: str = typer.Option(None, help="Only themes emerging in this NUTS-2 region."),
           sector: str = typer.Option(None, help="Only themes emerging in this sector."),
           kind: str = typer.Option(None, help="Only themes emerging in this kind: news, project, patent or paper."),
           terms: bool = typer.Option(False, "--terms", help="Rising words and phrases instead of topics."),
           as_json: bool = typer.Option(False, "--json"),
           top: int = typer.Option(20, help="How many themes to show.")) -> None:
    """Show the latest ranked themes with their components, p/q-values, regions and sectors.

    Example: trendscout trends --region DE21 --json
    """
    from pipelines.errors import NotFound
    from pipelines.views.detections import ranked_flags
    from pipelines.views.forecasts import theme_forecasts

    with reported_errors(), open_store(ctx) as store:
        frame, detect_id = ranked_flags(store, region=region, sector=sector, kind=kind, terms=terms, top=top)
        if detect_id is None:
            raise NotFound("no trend scores yet; run 'trendscout nightly' or 'trendscout detect' first")
        forecasts = theme_forecasts(store, detect_id)
    if as_json:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")  # NaN is not JSON
        for record in records:  # the share ahead with intervals and P(lasting growth), from the forecast step
            record["forecast"] = forecasts.get(record["topic_id"])
        typer.echo(json.dumps({"detect_id": detect_id, "themes": records}, default=str))
    else:
        typer.echo(render_flags(frame))


def backtest(ctx: typer.Context, truth: Path = typer.Option(..., exists=True, dir_okay=False,
                                                            help="CSV: theme,terms,label,expected_from,expected_to"),
             start: str = typer.Option(None, "--from", help="First cutoff month, YYYY-MM."),
             end: str = typer.Option(None, "--to", help="Last cutoff month, YYYY-MM."),
             step: str = typer.Option("month", help="Cutoff step: week, month, quarter or year."),
             refit_every: int = typer.Option(1, min=1, help="Refit topics every N cutoffs; assign in between."),
             corpus: Path = typer.Option(None, exists=True, help="Load this corpus (JSONL/CSV/Parquet) first."),
             source: str = typer.Option(None, help="Source name for --corpus documents (default: file name)."),
             kind: str = typer.Option("news", help="Kind of the --corpus documents."),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Replay detection at past cutoffs (no look-ahead) and score flags against a truth file.

    Example: trendscout backtest --truth benchmarks/truth/patents_neural.csv --from 1987-01 --step year --json
    """
    import pandas as pd

    from pipelines.backtest import run_backtest
    from pipelines.steps.embed import embed
    from pipelines.steps.ingest import ingest_corpus
    with reported_errors():
        settings = settings_of(ctx)
        if corpus is not None:
            with open_store(ctx) as store:
                ingest_corpus(store, corpus, source or corpus.stem, kind, bars_of(ctx))
                embed(store, settings.nlp, bars_of(ctx))
        result = run_backtest(settings, truth, start=start and pd.Timestamp(start),
                              end=end and pd.Timestamp(end) + pd.offsets.MonthEnd(0), step=step,
                              refit_every=refit_every, bars=bars_of(ctx))
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else render_backtest(result))


def render_flags(frame) -> str:
    """One line per cell: rank, flag, growth, support, q-value, components, label and where it emerges."""
    lines = []
    for row in frame.itertuples():
        c = row.components
        where = f" [{row.scope} {row.cell}, LQ {row.location_quotient:.1f}]" if row.scope != "topic" else ""
        label = row.label
        if row.scope == "term":
            label, where = f'"{row.cell}"', f" (mostly in: {row.label or 'no topic yet'})"
        marks = ("X" if row.is_cross_sectoral else "") + ("B" if row.is_cross_border else "")
        lines.append(f"{row.rank:>3}{'*' if row.flagged else ' '} x{row.growth:5.2f} n={row.n_recent:<4} "
                     f"q={row.q_value:.2g} acc={c.get('acceleration', 0):+.2f} nov={c.get('novelty') or 0:.2f} "
                     f"per={c.get('persistence', 0):.2f} spr={c.get('spread') or 0:.2f} {marks:<2} "
                     f"{label}{where}" + (f" regions: {', '.join(c['emerging_regions'])}"
                                              if isinstance(c.get("emerging_regions"), list) else ""))
    return "\n".join(lines) or "no themes"


def render_backtest(result: dict) -> str:
    """Detector and baseline side by side, then one line per theme."""
    lines = [f"backtest {result['backtest_id']}: {result['params']['from']} .. {result['params']['to']} "
             f"({result['params']['step']})", f"{'method':<10}{'recall':>8}{'false alarms':>14}{'median delay':>14}"
             f"{'flags/cutoff':>14}"]
    for name, metrics in (("detector", result), ("baseline", result["baseline"])):
        recall = "-" if metrics["recall"] is None else f"{metrics['recall']:.2f}"
        delay = "-" if metrics["median_delay_days"] is None else f"{metrics['median_delay_days']:.0f} d"
        lines.append(f"{name:<10}{recall:>8}{metrics['false_alarms']:>14}{delay:>14}{metrics['flags_per_cutoff']:>14.2f}")
    for theme in result["themes"]:
        lines.append(f"  {theme['theme']:<24} {theme['label']:<13} detected={theme['detected']!s:<5} "
                     f"first={theme['first_cutoff']} delay={theme['delay_days']} flags={theme['n_matching_flags']}")
    return "\n".join(lines)
