"""`trendscout serve` and `trendscout mail-digest`: the analyst's dashboard and digest delivery."""

from __future__ import annotations

import logging

import typer

from pipelines.cli.common import reported_errors, settings_of

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command("mail-digest")(mail_digest)


def serve(ctx: typer.Context,
          host: str = typer.Option(None, help="Address to bind (default: [dashboard] host, 127.0.0.1)."),
          port: int = typer.Option(None, help="Port (default: [dashboard] port, 8765).")) -> None:
    """Run the local dashboard: browse themes, search documents, read past digests, give feedback.

    The server opens the store for each request, so `nightly` can run meanwhile; while it writes, pages
    answer "busy" and feedback is retried, then refused with a message (DuckDB allows one writer).

    Example: trendscout serve --port 8765
    """
    import uvicorn

    from pipelines.dashboard.app import LOOPBACK_HOSTS, create_app
    from pipelines.dashboard.settings import dashboard_of

    settings = settings_of(ctx)
    options = dashboard_of(settings)
    host, port = host or options.host, port or options.port
    if host not in LOOPBACK_HOSTS:
        logger.warning("serve: binding %s: the dashboard has no login; anyone who can reach it can give feedback",
                       host)
    with reported_errors():
        app = create_app(settings)
    typer.echo(f"dashboard on http://{host}:{port}/ (Ctrl+C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def mail_digest(ctx: typer.Context,
                week: str = typer.Option(None, help="ISO week, e.g. 2026-W48 (default: this week).")) -> None:
    """E-mail a digest already written under reports/<week>/ to the [mail] recipients."""
    from pipelines.errors import NotFound
    from pipelines.steps.digest import parse_week
    from pipelines.steps.mail import mail_of, send_digest

    with reported_errors():
        settings = settings_of(ctx)
        label, _, _ = parse_week(week)
        folder = settings.reports_dir / label
        if not (folder / "digest.json").is_file():
            raise NotFound(f"no digest for {label} in {settings.reports_dir}; run 'trendscout digest --week {label}'")
        accepted = send_digest(folder, mail_of(settings))
    typer.echo(f"mailed {label} to {accepted} recipients")
