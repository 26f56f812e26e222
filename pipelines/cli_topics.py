"""`trendscout topics ...`: fit, list and inspect the topic model."""

from __future__ import annotations

import json

import typer

from pipelines.cli_common import bars_of, open_store, reported_errors, settings_of

topics_app = typer.Typer(no_args_is_help=True, help="Fit, list and inspect the topic model.")


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


@topics_app.command("fit")
def topics_fit(ctx: typer.Context) -> None:
    """Fit the topic model now (also assigns every embedded document)."""
    from pipelines.assign import topics_step

    with reported_errors(), open_store(ctx) as store:
        result = topics_step(store, settings_of(ctx), bars_of(ctx), force_fit=True)
    typer.echo(result.summary())


@topics_app.command("list")
def topics_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the active topics with their size and label."""
    with reported_errors(), open_store(ctx) as store:
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

    with reported_errors(), open_store(ctx) as store:
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
