"""`python -m pipelines.cli`: the `trendscout` command."""

import sys

from pipelines.cli import app

sys.exit(app())
