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
    from pipelines.views.detections import detection_params

    with reported_errors(), open_store(ctx) as store:
        run_id = new_run_id()
        result = detect_step(store, settings_of(ctx).trends, run_id)
        note = detection_params(store, run_id).get("history", {}).get("note")
    typer.echo(result.summary() + (f"\n{note}" if note else ""))


def trends(ctx: typer.Context, region: str = typer.Option(None, help="Only themes emerging in this NUTS-2 region."),
           sector: str = typer.Option(None, help="Only themes emerging in this sector."),
           kind: str = typer.Option(None, help="Only themes emerging in this kind: news, project, patent or paper."),
           terms: bool = typer.Option(False, "--terms", help="Rising words and phrases instead of topics: flagged "
                                      "first, then by q-value; runners-up with a corpus-generic word left out."),
           as_json: bool = typer.Option(False, "--json"),
           top: int = typer.Option(20, help="How many themes to show.")) -> None:
    """Show the latest ranked themes with their components, p/q-values, regions and sectors.

    Example: trendscout trends --region DE21 --json
    """
    from pipelines.errors import NotFound
    from pipelines.views.detections import detection_params, ranked_flags
    from pipelines.views.forecasts import theme_forecasts

    with reported_errors(), open_store(ctx) as store:
        frame, detect_id = ranked_flags(store, region=region, sector=sector, kind=kind, terms=terms, top=top)
        if detect_id is None:
            raise NotFound("no trend scores yet; run 'trendscout nightly' or 'trendscout detect' first")
        forecasts = theme_forecasts(store, detect_id)
        history = detection_params(store, detect_id).get("history") or {}  # a shortened baseline, or none
    if as_json:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")  # NaN is not JSON
        for record in records:  # the share ahead with intervals and P(lasting growth), from the forecast step
            record["forecast"] = forecasts.get((record["scope"], record["topic_id"], record["cell"]))
        typer.echo(json.dumps({"detect_id": detect_id, "history": history, "themes": records}, default=str))
    else:
        typer.echo((f"{history['note']}\n" if history.get("note") else "") + render_flags(frame))


def backtest(ctx: typer.Context, truth: Path = typer.Option(..., exists=True, dir_okay=False,
                                                            help="CSV: theme,terms,label,expected_from,expected_to"),
             start: str = typer.Option(None, "--from", help="First cutoff month, YYYY-MM."),
             end: str = typer.Option(None, "--to", help="Last cutoff month, YYYY-MM."),
             step: str = typer.Option("month", help="Cutoff step: week, month, quarter or year."),
             refit_every: int = typer.Option(1, min=1, help="Refit topics every N cutoffs; assign in between."),
             early_tolerance_days: int = typer.Option(None, min=0, help="A matching flag this many days before "
                                                      "a theme's expected_from still hits it (default: settings)."),
             shuffle_dates: int = typer.Option(None, help="Control: permute the documents' dates with this seed."),
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
                              refit_every=refit_every, tolerance_days=early_tolerance_days,
                              shuffle_seed=shuffle_dates, bars=bars_of(ctx))
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else render_backtest(result))


FLAG_COLUMNS = ("rank", "flag", "growth", "recent", "q", "acceleration", "novelty", "persistence", "spread",
                "cross", "theme")


def render_flags(frame) -> str:
    """A table with a header: rank, flag (emerging / burst / style, blank when the cell did not pass), growth,
    recent documents, q-value, the components by their full names, cross-sectoral (X) / -border (B), theme."""
    if frame.empty:
        return "no themes"
    rows = []
    for row in frame.itertuples():
        c = row.components
        where = f" [{row.scope} {row.cell}, LQ {row.location_quotient:.1f}]" if row.scope != "topic" else ""
        label = row.label
        if row.scope == "term":
            label, where = f'"{row.cell}"', f" (mostly in: {row.label or 'no topic yet'})"
        regions = c.get("emerging_regions")
        verdict = getattr(row, "verdict", None) or "emerging"  # a detection without verdicts: every flag emerging
        rows.append((str(row.rank), verdict if row.flagged else "", f"x{row.growth:.2f}", str(row.n_recent),
                     f"{row.q_value:.2g}", f"{c.get('acceleration') or 0:+.2f}", f"{c.get('novelty') or 0:.2f}",
                     f"{c.get('persistence') or 0:.2f}", f"{c.get('spread') or 0:.2f}",
                     ("X" if row.is_cross_sectoral else "") + ("B" if row.is_cross_border else ""),
                     f"{label}{where}" + (f" regions: {', '.join(regions)}" if isinstance(regions, list) else "")))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(FLAG_COLUMNS[:-1])]
    line = lambda cells: "  ".join(f"{v:>{w}}" if i not in (1, 9) else f"{v:<{w}}"  # noqa: E731
                                   for i, (v, w) in enumerate(zip(cells, widths, strict=False))) + "  " + cells[-1]
    return "\n".join([line(FLAG_COLUMNS), *(line(r) for r in rows)])


def render_backtest(result: dict) -> str:
    """The detector and every baseline side by side (strict scores), then one line per theme."""
    p = result["params"]
    lines = [f"backtest {result['backtest_id']}: {p['from']} .. {p['to']} ({p['step']}), "
             f"{result['share_of_cutoffs_flagged']:.0%} of cutoffs flagged, {len(result['skipped_cutoffs'])} skipped, "
             f"median delay the data allowed (evidence) {result.get('median_evidence_delay_days')} d",
             f"{'method':<18}{'recall':>7}{'threat':>7}{'confirmed':>10}{'false':>6}{'premature':>10}"
             f"{'unmatched':>10}{'delay':>8}{'flags/cut':>10}"]
    for name, m in (("detector", result), *result["baselines"].items()):
        def num(value, fmt="{:.2f}"):
            return "-" if value is None else fmt.format(value)
        lines.append(f"{name:<18}{num(m['recall']):>7}{num(m['threat_score']):>7}{num(m['confirmed_share']):>10}"
                     f"{m['false_alarms']:>6}{m['premature_flags']:>10}{m['unmatched_flags']:>10}"
                     f"{num(m['median_delay_days'], '{:.0f} d'):>8}{m['flags_per_cutoff']:>10.2f}")
    for theme in result["themes"]:
        lines.append(f"  {theme['theme']:<24} {theme['label']:<13} detected={theme['detected']!s:<5} "
                     f"first={theme['first_cutoff']} delay={theme['delay_days']} flags={theme['n_matching_flags']} "
                     f"premature={theme['premature_flags']}"
                     + (f" evidence={theme['evidence_cutoff']} ({theme['evidence_delay_days']} d)"
                        if theme.get("evidence_cutoff") else ""))
    for miss in result.get("missed", []):
        lines.append(f"  missed {miss['theme']}: {describe_miss(miss)}")
    for skip in result["skipped_cutoffs"]:
        lines.append(f"  {skip['cutoff']}: {skip['reason']}")
    for cut in result.get("shortened_baseline_cutoffs", []):
        lines.append(f"  {cut['cutoff']}: baseline shortened to {cut['baseline_days']} days by the corpus start")
    if p.get("stage_cpu_seconds"):
        lines.append(f"  took {p['seconds']:.0f} s: " + stage_seconds(p["stage_cpu_seconds"]))
    return "\n".join(lines)


def stage_seconds(stages: dict[str, float]) -> str:
    """A replay's CPU seconds per stage, the largest first."""
    return ", ".join(f"{stage} {s:.0f} s" for stage, s in sorted(stages.items(), key=lambda x: -x[1])) + " of CPU"



def describe_miss(miss: dict) -> str:
    """One line on why a theme was missed (`nlp.backtest.explain_misses`)."""
    if miss["why"] == "not flagged":
        q = "-" if miss["q_value"] is None else f"{miss['q_value']:.3g}"
        growth = "-" if miss["growth"] is None else f"{miss['growth']:.1f}x"
        return (f"closest {miss['scope']} '{miss['marker']}' at {miss['cutoff']}: {miss['n_recent']} recent vs "
                f"{miss['n_baseline']} baseline documents, growth {growth}, q {q}, failed {miss['failed']}")
    if miss["why"].startswith("labelled"):
        return f"{miss['why']} at {miss['cutoff']} ('{miss['marker']}': {miss['reason']})"
    return miss["why"]
