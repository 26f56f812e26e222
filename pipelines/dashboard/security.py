"""Per-session CSRF tokens, a per-response script nonce and the security headers of every page.

The CSRF token lives in an HttpOnly, SameSite=Strict cookie and must come back in each POST form
(double submit). Cookies are shared by every port of a host, so a page on another port of 127.0.0.1
could plant a cookie and post a matching made-up pair: a token is therefore a random value signed with
HMAC-SHA256 under a secret the server draws at start, and a POST whose Origin is not this Host is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "trendscout_csrf"


def new_secret() -> bytes:
    """The server's signing secret: new at every start (a restart asks forms to be reloaded)."""
    return secrets.token_bytes(32)


def _mac(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def _is_signed(secret: bytes, token: str) -> bool:
    value, _, mac = token.partition(".")
    return len(value) >= 32 and hmac.compare_digest(mac, _mac(secret, value))


def csrf_token(request: Request) -> str:
    """The session's token: the cookie's when this server signed it, or a new one that `secure` will set."""
    if not hasattr(request.state, "csrf"):
        secret = request.app.state.csrf_secret
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not _is_signed(secret, cookie):
            value = secrets.token_urlsafe(32)
            cookie = f"{value}.{_mac(secret, value)}"
        request.state.csrf = cookie
    return request.state.csrf


def is_valid_csrf(request: Request, submitted: str | None) -> bool:
    """The form's token equals the cookie's and carries this server's signature."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return (bool(submitted) and _is_signed(request.app.state.csrf_secret, cookie)
            and hmac.compare_digest(cookie, str(submitted)))


def same_origin(request: Request) -> bool:
    """False when the request names an Origin other than the Host it was sent to (absent Origin passes)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def secure(response: Response, request: Request, nonce: str | None = None) -> Response:
    """Add the CSP and other headers, and the CSRF cookie when the session has none yet."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src {script}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    # not no-referrer: with it the browser sends "Origin: null" on the dashboard's own POSTs
    response.headers["Referrer-Policy"] = "same-origin"
    token = csrf_token(request)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
