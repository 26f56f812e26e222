"""The dashboard: a Starlette app rendering Jinja2 pages from the store, bound to loopback by default.

Pages: themes (filtered by period, region, sector and kind), one theme, document search, past digests, regions
and one region's brief.
The one write is analyst feedback: POST from this origin with the session's signed CSRF token. Crawled text
is escaped everywhere (autoescape on every template); files are served only from the reports directory.
"""

from __future__ import annotations

from datetime import date
from importlib import resources

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipelines.dashboard import queries
from pipelines.dashboard.access import StoreAccess, StoreBusy
from pipelines.dashboard.security import csrf_token, is_valid_csrf, new_nonce, new_secret, same_origin, secure
from pipelines.dashboard.settings import dashboard_of
from pipelines.settings import Settings
from pipelines.views.charts import png_chart, png_lines
from pipelines.views.feedback import VERDICTS, record_feedback
from pipelines.views.forecasts import add_cell_lines, fan_traces, theme_forecasts
from pipelines.views.regions import list_regions, region_brief, theme_geography
from pipelines.views.themes import NUTS, DocFilter

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1"]
_ENV = Environment(loader=PackageLoader("pipelines.dashboard", "templates"), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters["num"] = lambda x, f="%.2f": "–" if x is None or x != x else f % x


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a date like 2026-11-23") from None


def _page(request: Request) -> int:
    value = request.query_params.get("page") or "1"
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise HTTPException(400, "page must be a number from 1")
    return int(value)


def doc_filter(request: Request, kinds: list[str]) -> DocFilter:
    """The filter in the query string; 400 on a value that is not a date, NUTS code or one of the store's `kinds`."""
    q = request.query_params
    region, kind = q.get("region") or None, q.get("kind") or None
    if region and not NUTS.match(region):
        raise HTTPException(400, "region must be a NUTS code such as DE71")
    if kind and kind not in kinds:
        raise HTTPException(400, f"kind must be one of {', '.join(kinds)}")
    return DocFilter(start=_date(q.get("start"), "start"), end=_date(q.get("end"), "end"), region=region,
                     sector=(q.get("sector") or None), kind=kind)


def create_app(settings: Settings) -> Starlette:
    """The dashboard app over `settings.store_path` and `settings.reports_dir`."""
    options = dashboard_of(settings)
    access = StoreAccess(settings.store_path, options.write_retries, options.retry_wait_s)
    reports_dir = settings.reports_dir

    def render(request: Request, template: str, status: int = 200, **context) -> Response:
        nonce = new_nonce()
        html = _ENV.get_template(template).render(request=request, csrf=csrf_token(request), nonce=nonce,
                                                  query=request.query_params, **context)
        return secure(HTMLResponse(html, status_code=status), request, nonce)

    def home(request: Request) -> Response:
        with access.read() as store:
            kinds = queries.kinds(store)
            where = doc_filter(request, kinds)
            order = request.query_params.get("order")
            listing = queries.list_themes(store, where, options.page_size, request.query_params.get("sort", "rank"),
                                          None if order not in ("asc", "desc") else order == "desc")
            choices = queries.filter_options(store, kinds)
            regions_plot = queries.flagged_regions(store, listing) if listing["detect_id"] else None
        plot = queries.plot_series(queries.listed_series(listing["themes"]))
        return render(request, "home.html.j2", listing=listing, choices=choices, where=where, plot=plot,
                      regions_plot=regions_plot)

    def plotly_js(request: Request) -> Response:
        """Plotly's own bundle from the installed package: the dashboard loads nothing from elsewhere."""
        path = resources.files("plotly") / "package_data" / "plotly.min.js"
        return secure(FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}),
                      request)

    def theme(request: Request) -> Response:
        with access.read() as store:
            where = doc_filter(request, queries.kinds(store))
            page = queries.theme_page(store, request.path_params["topic_id"], where, options.page_size,
                                      _page(request))
            geo = theme_geography(store, request.path_params["topic_id"], settings.geography) if page else None
            ahead = theme_forecasts(store, page["detect_id"], page["topic_id"]) if page and page["detect_id"] else {}
            own = ahead.get(("topic", page["topic_id"], "")) if page else None
            found = queries.theme_series(store, page["topic_id"]) if own else None
            fan = fan_traces(found[0], own) if found and found[0] else None
            if page:
                add_cell_lines(page["topic_id"], page["regions"], page["sectors"], ahead, page["period"])
        if page is None:
            raise HTTPException(404, "no such theme")
        return render(request, "theme.html.j2", t=page, geo=geo, verdicts=VERDICTS, default_user=options.user,
                      saved=request.query_params.get("saved") == "1", fan=fan)

    def regions(request: Request) -> Response:
        with access.read() as store:
            listing = list_regions(store)
        return render(request, "regions.html.j2", regions=listing)

    def region(request: Request) -> Response:
        code = request.path_params["code"].upper()
        if not NUTS.match(code) or len(code) < 4:
            raise HTTPException(400, "region must be a NUTS-2 or NUTS-3 code such as DE71")
        with access.read() as store:
            brief = region_brief(store, code, settings.geography)
        if brief is None:
            raise HTTPException(404, "no documents with a theme in this region")
        return render(request, "region.html.j2", b=brief)

    async def feedback(request: Request) -> Response:
        topic_id = request.path_params["topic_id"]
        if not same_origin(request):
            raise HTTPException(403, "feedback is accepted only from the dashboard's own pages")
        form = await request.form()
        if not is_valid_csrf(request, form.get("csrf")):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page and submit again")
        verdict = str(form.get("verdict") or "")
        if verdict not in VERDICTS:
            raise HTTPException(400, f"verdict must be one of {', '.join(VERDICTS)}")
        note, user = str(form.get("note") or "").strip(), str(form.get("user") or "").strip() or options.user

        def save(store):
            if not store.scalar("SELECT count(*) FROM topics WHERE topic_id = ?", [topic_id]):
                raise HTTPException(404, "no such theme")
            detect_id = store.scalar("SELECT detect_id FROM detections ORDER BY created_at DESC LIMIT 1")
            return record_feedback(store, topic_id, verdict, note, user, detect_id=detect_id)

        await run_in_threadpool(access.write, save)
        return RedirectResponse(f"/themes/{topic_id}?saved=1", status_code=303)

    def search(request: Request) -> Response:
        text = (request.query_params.get("q") or "").strip()[:200]
        with access.read() as store:
            where = doc_filter(request, queries.kinds(store))
            found = queries.search_documents(store, text, where, options.page_size, _page(request))
        return render(request, "search.html.j2", text=text, found=found)

    def png(data: bytes, request: Request) -> Response:
        return secure(Response(data, media_type="image/png", headers={"Cache-Control": "no-store"}), request)

    def home_chart(request: Request) -> Response:
        with access.read() as store:
            lines = queries.home_series(store)
        return png(png_lines(lines), request)

    def theme_chart(request: Request) -> Response:
        with access.read() as store:
            found = queries.theme_series(store, request.path_params["topic_id"])
        if not found or not found[0]:
            raise HTTPException(404, "no chart for this theme")
        return png(png_chart(*found), request)

    def digests(request: Request) -> Response:
        return render(request, "digests.html.j2", digests=queries.list_digests(reports_dir))

    def digest(request: Request) -> Response:
        path = queries.digest_file(reports_dir, request.path_params["week"], request.path_params["fmt"])
        if path is None:
            raise HTTPException(404, "no such digest")
        media = {".html": "text/html; charset=utf-8", ".md": "text/plain; charset=utf-8",
                 ".json": "application/json", ".png": "image/png"}[path.suffix]
        response = FileResponse(path, media_type=media)
        return secure(response, request)

    async def error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 503
        return render(request, "message.html.j2", status=status, message=str(getattr(exc, "detail", exc)))

    routes = [Route("/", home), Route("/charts/themes.png", home_chart),
              Route("/static/plotly.min.js", plotly_js), Route("/themes/{topic_id:int}", theme),
              Route("/themes/{topic_id:int}/chart.png", theme_chart),
              Route("/themes/{topic_id:int}/feedback", feedback, methods=["POST"]), Route("/search", search),
              Route("/digests", digests), Route("/digests/{week}/{fmt}", digest), Route("/regions", regions),
              Route("/regions/{code}", region)]
    hosts = sorted({*LOOPBACK_HOSTS, options.host, settings_host(options.host)})
    app = Starlette(routes=routes, exception_handlers={HTTPException: error, StoreBusy: error},
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
    app.state.csrf_secret = new_secret()
    return app


def settings_host(host: str) -> str:
    """The Host header a browser sends for `host` (wildcard binds accept any name)."""
    return "*" if host in ("0.0.0.0", "::") else host
