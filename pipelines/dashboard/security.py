"""Per-session CSRF tokens, a per-response script nonce and the security headers of every page.

The CSRF token lives in an HttpOnly, SameSite=Strict cookie and must come back in each POST form
(double submit): another site can neither read the cookie nor make the browser send it.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "trendscout_csrf"


def csrf_token(request: Request) -> str:
    """The session's token: the cookie's, or a new one that `secure` will set."""
    if not hasattr(request.state, "csrf"):
        cookie = request.cookies.get(CSRF_COOKIE, "")
        request.state.csrf = cookie if len(cookie) >= 32 else secrets.token_urlsafe(32)
    return request.state.csrf


def is_valid_csrf(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie, str(submitted))


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def secure(response: Response, request: Request, nonce: str | None = None) -> Response:
    """Add the CSP and other headers, and the CSRF cookie when the session has none yet."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src {script}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    token = csrf_token(request)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
