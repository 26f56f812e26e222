"""`trendscout regions [CODE] [--json]`: the regions with documents, or one region's brief (where to act)."""

from __future__ import annotations

import json

import typer

from pipelines.cli.common import open_store, reported_errors, settings_of


def register(app: typer.Typer) -> None:
    app.command()(regions)


def regions(ctx: typer.Context,
            code: str = typer.Argument(None, help="A NUTS-2 (or NUTS-3) code such as DE71; none: list the regions."),
            start: str = typer.Option(None, "--from", help="Only documents published from this ISO date."),
            end: str = typer.Option(None, "--to", help="Only documents published up to this ISO date."),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """The regions with their document counts, or one region's brief: specialisations (RCA), the adjacent
    possible (relatedness density), cross-border partners and non-EU partners (docs/regions.md).

    Example: trendscout regions DE71 --from 2024-01-01 --json
    """
    from datetime import date

    from pipelines.errors import NotFound, TrendscoutError
    from pipelines.views.regions import list_regions, region_brief

    with reported_errors(), open_store(ctx) as store:
        try:
            period = [date.fromisoformat(d) if d else None for d in (start, end)]
        except ValueError as exc:
            raise TrendscoutError(f"--from/--to must be dates like 2024-01-01: {exc}") from None
        if code is None:
            listing = list_regions(store)
            if not listing:
                raise NotFound("no document has a NUTS region yet; run 'trendscout nightly' first")
        else:
            brief = region_brief(store, code, settings_of(ctx).geography, None, *period)
            if brief is None:
                raise NotFound(f"no documents with a stable topic in region {code!r} (a NUTS-2/3 code such as DE71)")
    if code is None:
        typer.echo(json.dumps(listing) if as_json else "\n".join(
            f"{r['region']:<6} {r['n_docs']:>7}  {r['name'] or ''}" for r in listing))
    else:
        typer.echo(json.dumps(brief, default=str) if as_json else render_brief(brief))


def render_brief(b: dict) -> str:
    """The brief as plain text."""
    lines = [f"{b['region']} {b['name'] or ''}: {b['documents']:g} documents (weighted)", "", "Specialisations (RCA):"]
    lines += [f"  {s['rca']:6.2f}  {s['label']}{'  [rising in Europe]' if s['rising'] else ''}  — "
              f"{', '.join(s['organisations'][:3])}" for s in b["specialisations"]] or ["  none"]
    lines += ["", "Adjacent possible (relatedness density, no RCA yet):"]
    lines += [f"  {x['relatedness_density']:6.1f}  {x['label']}{'  [rising in Europe]' if x['rising'] else ''}"
              + (f"  via {x['via']['label']}" if x["via"] else "") for x in b["adjacent_possible"]] or ["  none"]
    lines += ["", "Cross-border partners:"]
    lines += [f"  {c['label']}: {c['partner_region']} {c['partner_name'] or ''} ({c['basis']}; "
              + (f"{c['shared_projects']} shared projects)" if c["existing_collaboration"] else "none shared yet)")
              for c in b["cross_border"]] or ["  none"]
    lines += ["", "Non-EU participation:"]
    lines += [f"  {100 * i['non_eu_share']:5.1f}%  {i['label']}{'  [rising]' if i['rising'] else ''}  — "
              f"{', '.join(c['country'] for c in i['top_countries'][:5])}" for i in b["international"]] or ["  none"]
    return "\n".join(lines)
