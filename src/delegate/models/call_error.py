"""A model call that failed for good, as it leaves a backend: its message with secrets masked.

An endpoint may echo the request's ``Authorization`` header in an error body, and an SDK puts the
body in its exception's message; that message then travels into the problem's record, the log,
MLflow and, in the router, back to the large model. Backends therefore raise a ``ModelCallError``
built from the SDK's exception: the same name (``BadRequestError``, ``APITimeoutError``...), so
records read as the SDK named things, and a message that went through ``secrets.scrub``. The SDK's
exception, with its response and request headers, is not kept.

A call that came back with something no model call can return (no choices, impossible token
usage, an error object in a 200) fails with ``ModelResponseError``, its message scrubbed too.
"""

from __future__ import annotations

import functools

from delegate.errors import DelegateError
from delegate.secrets import scrub


class ModelCallError(Exception):
    """A failed model call; subclasses carry the name of what failed."""


class ModelResponseError(DelegateError):
    """The model answered, but not with something a chat completion must contain."""

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))  # it may quote what the server sent


@functools.cache
def _named(name: str) -> type[ModelCallError]:
    return type(name, (ModelCallError,), {"__module__": __name__})


def call_error(name: str, message: str) -> ModelCallError:
    """A ``ModelCallError`` subclass named ``name`` (one class per name), message scrubbed."""
    return _named(name)(scrub(message))


def from_exception(error: BaseException) -> ModelCallError:
    """``error`` as a ``ModelCallError`` of the same name; its direct cause (a connection
    error's reason) is appended, scrubbed too."""
    message = str(error) or type(error).__name__
    cause = error.__cause__
    if cause is not None:
        reason = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        message += f" ({reason})"
    return call_error(type(error).__name__, message)
