"""User-facing errors: what the user can fix by changing a config key, a file or the environment.

The entry point prints these as one line and exits non-zero; everything else is a bug and keeps its
traceback.
"""


class DelegateError(Exception):
    """An error the user can act on; its message is shown as a single line."""


class ConfigError(DelegateError):
    """A config key holds a value that cannot work (unknown name, wrong type, missing file...)."""


class MissingSecretError(DelegateError):
    """An API key that the configured backend needs is not in the environment."""
