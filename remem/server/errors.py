"""Structured JSON errors: ``{"error": {"code": ..., "message": ...}}`` with stable codes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from remem.errors import APIError, EmbeddingMismatchError, InvalidInputError, NotFoundError, RememError, StoreError

log = logging.getLogger("remem.server")

# HTTP status for each remem error code (anything else deriving from RememError: 400)
STATUS_OF = {
    InvalidInputError.code: 422,
    NotFoundError.code: 404,
    EmbeddingMismatchError.code: 409,
    StoreError.code: 503,
}
CODE_OF_STATUS = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "not_ready",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    @app.exception_handler(APIError)
    async def _api(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.code, str(exc), exc.headers)

    @app.exception_handler(RememError)
    async def _remem(request: Request, exc: RememError) -> JSONResponse:
        status = STATUS_OF.get(exc.code, 400)
        if status >= 500:
            log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc)
        return error_response(status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")).removeprefix("Value error, "),
             "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        parts = list(dict.fromkeys(f"{'.'.join(d['loc'][1:]) or 'request'}: {d['msg']}" for d in details))
        message = "; ".join(parts[:3]) + (f" (and {len(parts) - 3} more)" if len(parts) > 3 else "") or "invalid request"
        return error_response(422, "invalid_input", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_OF_STATUS.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error")
