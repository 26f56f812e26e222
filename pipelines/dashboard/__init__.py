"""The analyst's dashboard: `trendscout serve` (see `pipelines.dashboard.app`)."""
