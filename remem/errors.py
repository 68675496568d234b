"""Every error remem raises on purpose derives from :class:`RememError`."""


class RememError(Exception):
    """Base class; ``code`` is a stable machine-readable identifier."""

    code = "remem_error"


class InvalidInputError(RememError, ValueError):
    """An argument is missing, malformed, empty or too large."""

    code = "invalid_input"


class NotFoundError(RememError, KeyError):
    """No memory with that id exists (in this tenant)."""

    code = "not_found"

    def __str__(self) -> str:  # KeyError quotes its message; we don't want that
        return str(self.args[0]) if self.args else "not found"


class StoreError(RememError):
    """The store file is missing, corrupt, foreign, or from a newer remem."""

    code = "store_error"


class EmbeddingMismatchError(StoreError):
    """The store was built with another embedding model or dimension."""

    code = "embedding_mismatch"


class LLMError(RememError):
    """The configured LLM failed or returned unusable output."""

    code = "llm_error"


class LLMNotConfiguredError(LLMError):
    """An operation needs an LLM but none is configured."""

    code = "llm_not_configured"


class APIError(RememError):
    """An HTTP-level error: raised by the server itself (auth, limits; rendered as its JSON
    error), or by ``RememClient`` for an error answer that has no closer type."""

    def __init__(self, message: str, *, status: int, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # type: ignore[misc]
        self.headers = headers


class AuthenticationError(APIError):
    """401/403 from the server: missing, unknown or revoked API key."""


class ServerUnavailableError(APIError):
    """The server could not be reached, or did not answer in time (``status`` is 0)."""

    def __init__(self, message: str, *, code: str = "server_unavailable") -> None:
        super().__init__(message, status=0, code=code)
