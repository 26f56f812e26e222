"""`trendscout detect` and `trendscout trends`: score topics and show the ranked themes."""

from __future__ import annotations

import json

import typer

from pipelines.cli_common import open_store, reported_errors, settings_of


def register(app: typer.Typer) -> None:
    app.command()(detect)
    app.command()(trends)


def detect(ctx: typer.Context) -> None:
    """Score topics for growth and write the ranked trend scores."""
    from pipelines.detect import detect as detect_step
    from pipelines.runs import new_run_id

    with reported_errors(), open_store(ctx) as store:
        result = detect_step(store, settings_of(ctx).trends, new_run_id())
    typer.echo(result.summary())


def trends(ctx: typer.Context, as_json: bool = typer.Option(False, "--json"),
           top: int = typer.Option(20, help="How many topics to show.")) -> None:
    """Show the latest ranked themes with their growth figures."""
    from pipelines.detect import latest_detection
    from pipelines.errors import NotFound

    with reported_errors(), open_store(ctx) as store:
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
