"""The package's own exception types.

Front ends catch :class:`RppgError` and print its message as one line, so every
expected failure (bad path, corrupt file, wrong weights) must raise a subclass
with a message a user can act on.
"""


class RppgError(Exception):
    """Base class for every error the user can cause and fix."""


class SourceError(RppgError):
    """A frame source cannot be opened or read (missing file, bad camera index)."""


class DatasetError(RppgError):
    """A dataset folder is missing, empty, or not in the announced format."""


class WeightsError(RppgError):
    """A weight file is missing, corrupt, or belongs to another model."""


class ConfigError(RppgError):
    """An option has a value that cannot work (unknown method, empty band)."""
