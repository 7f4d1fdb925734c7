"""Refusing an over-large upload with a JSON 413 while it streams in, before the body is read whole.

Starlette's own body limit answers in plain text when the declared Content-Length is too large (what browsers
send), and FastAPI turns an error raised while it parses a body into a 400. So this middleware does not raise
through the app: it stops feeding the body, lets the app answer, and sends its own 413 in place of that answer.
"""

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for multipart boundaries and the form fields on top of the file itself."""


class UploadSizeLimit:
    def __init__(self, app: ASGIApp, path: str, max_file_bytes: Callable[[], int]) -> None:
        self.app = app
        self.path = path
        self.max_file_bytes = max_file_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        max_file = self.max_file_bytes()
        limit = max_file + MULTIPART_OVERHEAD_BYTES
        message = f"The file is larger than {max_file / 2**20:g} MB."
        too_large = error_response(413, "file_too_large", message, path=self.path, param="file")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return

        received = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise ConnectionAbortedError("upload over the size limit")
            return message

        answered = False

        async def replacing_send(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
            elif not answered:
                answered = True
                await too_large(scope, receive, send)

        await self.app(scope, counting_receive, replacing_send)
