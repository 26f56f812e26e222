"""Settings of the analyst's side: the dashboard server and the regions analysts follow."""

from __future__ import annotations

from pydantic import BaseModel


class DashboardSettings(BaseModel):
    host: str = "127.0.0.1"  # loopback only: the dashboard has no login
    port: int = 8765
    regions: list[str] = []  # NUTS codes analysts follow: first in the digest's region highlights
    user: str = "analyst"  # recorded with feedback when the form leaves it empty
    page_size: int = 50
    write_retries: int = 3  # feedback writes retry while another process holds the store
    retry_wait_s: float = 1.0


def dashboard_of(settings) -> DashboardSettings:
    """`settings.dashboard` (one seam for tests to replace)."""
    return settings.dashboard
