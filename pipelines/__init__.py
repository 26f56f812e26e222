"""The composition root: settings, store, steps, jobs and the CLI."""
