"""The dashboard's settings seam (the model lives with the others in `pipelines.settings`)."""

from __future__ import annotations

from pipelines.settings import DashboardSettings


def dashboard_of(settings) -> DashboardSettings:
    """`settings.dashboard` (one seam for tests to replace)."""
    return settings.dashboard
