"""The gunicorn worker `samenzorg serve` runs: held to the request line and header limits stated in
gateway/limits.py, and answering what it refuses while reading a request with an OperationOutcome
(400, 414, 431, 501) instead of gunicorn's HTML page."""
from __future__ import annotations

import socket
import time
from http import HTTPStatus

import orjson
from gunicorn.http.errors import (ChunkMissingTerminator, ExpectationFailed, ForbiddenProxyRequest,
                                  InvalidChunkExtension, InvalidChunkSize, InvalidHeader, InvalidHeaderName,
                                  InvalidHTTPVersion, InvalidProxyLine, InvalidRequestLine, InvalidRequestMethod,
                                  InvalidResponseHeader, InvalidResponseHeaderName, InvalidSchemeHeaders,
                                  LimitRequestHeaders, LimitRequestLine, ObsoleteFolding,
                                  UnsupportedTransferCoding)
from gunicorn.workers.gthread import ThreadWorker

from . import memory
from .errors import Issue, outcome
from .limits import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_REQUEST_LINE

# gunicorn settings (names as in its documentation) for `samenzorg serve`.
SETTINGS = {
    "worker_class": "gateway.server.Worker",
    "limit_request_line": MAX_REQUEST_LINE,
    "limit_request_field_size": MAX_HEADER_FIELD_BYTES,
    "limit_request_fields": MAX_HEADER_FIELDS,
}

_DRAIN_BYTES = 1024 * 1024
_REFUSALS = (
    (LimitRequestLine, 414, f"The request line is longer than {MAX_REQUEST_LINE} bytes; "
                            "send long searches as POST [type]/_search."),
    (LimitRequestHeaders, 431, f"The request headers are too large: at most {MAX_HEADER_FIELDS} fields "
                               f"of at most {MAX_HEADER_FIELD_BYTES} bytes each."),
)


# What gunicorn refuses while parsing a request that is the client's doing (not ours).
_MALFORMED = (InvalidRequestLine, InvalidRequestMethod, InvalidHTTPVersion, InvalidHeader, InvalidHeaderName,
              ObsoleteFolding, InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension,
              InvalidProxyLine, ForbiddenProxyRequest, InvalidSchemeHeaders, ExpectationFailed)


class Worker(ThreadWorker):
    def init_process(self):
        memory.limit_arenas()  # before the worker's threads start, so they share few malloc arenas
        super().init_process()

    def handle_error(self, req, client, addr, exc):
        for kind, status, diagnostics in _REFUSALS:
            if isinstance(exc, kind):
                self.log.warning("refused a request from %s: %s", (addr or ("",))[0], exc)
                _answer_and_close(client, refusal(status, diagnostics))
                return
        if isinstance(exc, UnsupportedTransferCoding):
            _answer_and_close(client, refusal(501, "This Transfer-Encoding is not supported.", "not-supported"))
            return
        if isinstance(exc, _MALFORMED) and not isinstance(exc, (InvalidResponseHeader, InvalidResponseHeaderName)):
            self.log.warning("refused a malformed request from %s: %s", (addr or ("",))[0], exc)
            _answer_and_close(client, refusal(400, f"Malformed HTTP request ({type(exc).__name__}).", "invalid"))
            return
        super().handle_error(req, client, addr, exc)


def _answer_and_close(client: socket.socket, response: bytes) -> None:
    """Send the answer, then read (briefly, boundedly) what the client still sends: a socket closed
    with unread input is reset, and a reset can lose the answer before the client reads it."""
    try:
        client.sendall(response)
        client.shutdown(socket.SHUT_WR)
        deadline, drained = time.monotonic() + 1.0, 0
        while drained < _DRAIN_BYTES and (left := deadline - time.monotonic()) > 0:
            client.settimeout(left)  # one second in all, however slowly the client sends
            if not (chunk := client.recv(65536)):
                break
            drained += len(chunk)
    except OSError:
        pass  # the client has gone, or keeps sending: gunicorn closes the socket either way


def refusal(status: int, diagnostics: str, code: str = "too-long") -> bytes:
    """A whole HTTP response carrying an OperationOutcome; the connection closes after it."""
    body = orjson.dumps(outcome([Issue("error", code, diagnostics)]))
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/fhir+json; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body
