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
