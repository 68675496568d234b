"""A request body size limit, enforced before the body is read (ASGI middleware)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remem.server.errors import error_response


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through to the 413 handler."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class BodyLimit:
    """Answer 413 ``payload_too_large`` for a body over ``max_bytes``, whether the
    client declared its length or streams it chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body is larger than {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes or declared < 0:
                    await error_response(413 if declared > 0 else 400, "payload_too_large" if declared > 0 else "invalid_input",
                                         message if declared > 0 else "bad Content-Length")(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(message)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await error_response(413, "payload_too_large", message)(scope, receive, send)
