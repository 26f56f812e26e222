"""Errors that stop a run before it starts; the CLI prints one line and exits with `exit_code`."""


class TrendscoutError(Exception):
    """Base class: a run cannot start or a command cannot do what was asked."""

    exit_code = 1


class ConfigError(TrendscoutError):
    """The settings file or the environment holds something unusable."""


class StoreLocked(TrendscoutError):
    """Another run holds the store."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class ModelNotFound(TrendscoutError):
    """No topic model has been fitted yet."""


class NotFound(TrendscoutError):
    """A requested topic, week or document does not exist."""
