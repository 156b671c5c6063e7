"""The engine's exception tree. The HTTP layer maps it to status codes in one place (api/errors.py)."""

from __future__ import annotations


class EngineError(Exception):
    """Base class. ``message`` is safe to show to a client."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(EngineError):
    """A request value is out of bounds or malformed (HTTP 422). ``field`` names it, e.g. ``images[1]``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(InvalidInput):
    """The named thing (a job, a model) does not exist (HTTP 404)."""


class PayloadTooLarge(InvalidInput):
    """A body, image or image dimension exceeds a configured limit (HTTP 413)."""


class Unauthorized(EngineError):
    """A generation or model endpoint was called without a valid API key (HTTP 401)."""


class Conflict(EngineError):
    """The request cannot be served in this deployment's configuration (HTTP 409), e.g. a model
    switch on one of several replicas that must all serve the same model."""


class Unavailable(EngineError):
    """The engine cannot take the work right now (HTTP 503); the client may retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Unavailable):
    """This client sent more requests than AURA_RATE_LIMIT allows (HTTP 429)."""


class QueueFull(Unavailable):
    """The bounded queue is full; the request was not accepted and will not run."""


class ModelNotReady(Unavailable):
    """The model is still loading, or failed to load (``reason`` says why)."""


class OutOfMemory(Unavailable):
    """The device ran out of memory for this request; memory was released and the engine serves on."""

    def __init__(self, message: str = "out of memory, try standard resolution or fewer images"):
        super().__init__(message, retry_after=1)


class ModelLoadError(EngineError):
    """A model (or adapter) could not be loaded; raised at start-up or on a model switch."""


class InternalError(EngineError):
    """Something unexpected broke; the message is generic and the traceback is in the log only."""


class InvalidOutput(InternalError):
    """The model produced NaN or black images even after an fp32 re-decode (HTTP 500, never a black 200)."""


class DeadlineExceeded(EngineError):
    """The request did not finish within AURA_REQUEST_TIMEOUT_S; its work was dropped or stopped (HTTP 504)."""


class ClientDisconnected(EngineError):
    """The client went away; its queued work was dropped and running work stopped."""
