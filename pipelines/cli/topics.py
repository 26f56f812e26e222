"""`trendscout topics ...`: refit, list and inspect stable topics and their lineage."""

from __future__ import annotations

import json

import pandas as pd
import typer

from pipelines.cli.common import bars_of, open_store, reported_errors, settings_of

topics_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Refit, list and inspect the stable topics and their lineage.")


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


@topics_app.command("refit")
def topics_refit(ctx: typer.Context) -> None:
    """Refit the topic model now, keep topic ids by matching, and record births, merges, splits and deaths.

    Example: trendscout topics refit && trendscout topics list
    """
    from pipelines.steps.topics import topics_step

    with reported_errors(), open_store(ctx) as store:
        result = topics_step(store, settings_of(ctx), bars_of(ctx), force_fit=True)
    typer.echo(result.summary())


@topics_app.command("fit")
def topics_fit(ctx: typer.Context) -> None:
    """Fit the topic model now: the same as 'topics refit' (also the first fit)."""
    topics_refit(ctx)


@topics_app.command("list")
def topics_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json"),
                all_topics: bool = typer.Option(False, "--all", help="Also merged and dead topics.")) -> None:
    """List topics: documents as assigned, with outliers reduced, birth date and label."""
    where = "" if all_topics else "WHERE t.status = 'active'"
    with reported_errors(), open_store(ctx) as store:
        frame = store.df(
            "SELECT t.topic_id, t.status, t.label, count(DISTINCT a.doc_id) AS n_docs, "
            "count(DISTINCT s.doc_id) AS n_docs_reduced, t.born_on, t.model_version FROM topics t "
            "LEFT JOIN topic_assignments a USING (topic_id) "
            "LEFT JOIN topic_similarities s ON s.reduced_topic_id = t.topic_id "
            f"{where} GROUP BY ALL ORDER BY n_docs DESC")
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso"))
        return
    typer.echo(f"{'id':>5}  {'docs':>6}  {'reduced':>7}  {'born':10}  label")
    for row in frame.itertuples():
        status = "" if row.status == "active" else f" [{row.status}]"
        typer.echo(f"{row.topic_id:>5}  {row.n_docs:>6}  {row.n_docs_reduced:>7}  {day(row.born_on):10}  "
                   f"{row.label}{status}")


@topics_app.command("show")
def topics_show(ctx: typer.Context, topic_id: int) -> None:
    """Show one topic: label, terms, status, lineage and its newest documents."""
    from pipelines.errors import NotFound

    with reported_errors(), open_store(ctx) as store:
        topic = store.df("SELECT * FROM topics WHERE topic_id = ?", [topic_id])
        if topic.empty:
            raise NotFound(f"no topic {topic_id}; see 'trendscout topics list'")
        docs = store.df("SELECT d.doc_id, d.published_on, d.title FROM topic_assignments a JOIN documents d "
                        "USING (doc_id) WHERE a.topic_id = ? ORDER BY d.published_on DESC LIMIT 10", [topic_id])
        events = lineage(store, topic_id)
    row = topic.iloc[0]
    typer.echo(f"topic {topic_id}: {row['label']} ({row['status']}, born {day(row['born_on'])}, "
               f"model {row['model_version']})")
    typer.echo("terms: " + ", ".join(json.loads(row["terms"] or "[]")))
    typer.echo(f"lineage: {len(events)} events (see 'trendscout topics lineage {topic_id}')")
    for doc in docs.itertuples():
        typer.echo(f"  {day(doc.published_on)}  {doc.doc_id}  {(doc.title or '')[:100]}")


@topics_app.command("lineage")
def topics_lineage(ctx: typer.Context, topic_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show a topic's lineage: births, continuations, splits, merges and deaths, oldest first.

    Example: trendscout topics lineage 12
    """
    from pipelines.errors import NotFound

    with reported_errors(), open_store(ctx) as store:
        events = lineage(store, topic_id)
        if events.empty:
            raise NotFound(f"no lineage for topic {topic_id}; see 'trendscout topics list --all'")
    if as_json:
        typer.echo(events.to_json(orient="records", date_format="iso"))
        return
    for e in events.itertuples():
        related = ", ".join(map(str, e.related_topic_ids)) if len(e.related_topic_ids) else ""
        sim = "" if pd.isna(e.similarity) else f"  sim {e.similarity:.2f}"
        typer.echo(f"{day(e.occurred_on):10}  {e.event:8}  topic {e.topic_id}"
                   f"{'  related ' + related if related else ''}{sim}  ({e.to_version})")


def lineage(store, topic_id: int):
    """Lineage events naming `topic_id`, as the topic or as a related topic, oldest first."""
    return store.df("SELECT event, topic_id, related_topic_ids, occurred_on, similarity, from_version, to_version "
                    "FROM topic_lineage WHERE topic_id = ? OR list_contains(related_topic_ids, ?) "
                    "ORDER BY occurred_on, recorded_at", [topic_id, topic_id])


def day(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")
