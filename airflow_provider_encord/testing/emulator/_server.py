"""HTTP layer of the emulator: transports, request signing, fault injection and the request log."""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:
    from airflow_provider_encord.testing.emulator._store import Store, User

FAULT_KINDS = ("status", "rpc_error", "latency", "drop", "timeout", "truncate")


class ApiError(Exception):
    """A v2 error answer: HTTP ``status`` with ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RpcError(Exception):
    """An RPC error envelope: ``{"status": status, "response": [code], "payload": payload}``."""

    def __init__(self, code: str, payload: Any = None, status: int = 400, http_status: int = 200) -> None:
        super().__init__(code)
        self.code = code
        self.payload = payload
        self.status = status
        self.http_status = http_status


@dataclass
class RecordedRequest:
    """One request the emulator received."""

    transport: str  # "rpc" or "v2"
    method: str
    path: str  # path without the query string
    route: str  # the key faults match, e.g. "rpc:labelrow:GET" or "v2:GET:/projects/{p}"
    query_type: str | None = None
    query_method: str | None = None
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    status: int = 0
    user_agent: str = ""
    user: str | None = None
    fault: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    #: the client's port: requests sent over one kept-alive connection share it
    client_port: int = 0


@dataclass
class Fault:
    """A failure injected into the routes ``route`` matches (a glob over route keys)."""

    route: str
    kind: str
    times: int | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    error_code: str | None = None
    fired: int = 0

    def matches(self, keys: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(key, self.route) for key in keys)


@dataclass
class Context:
    """What a route handler gets besides its arguments."""

    store: Store
    user: User
    max_page_size: int
    upload_polls: int


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    """JSON bytes of an answer; datetimes as ``isoformat()``. Pre-encoded parts may be ``orjson.Fragment``."""
    return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


class Router:
    """v2 routes by method and path template; RPC routes by query type and method."""

    def __init__(self) -> None:
        self.v2: list[tuple[str, str, re.Pattern[str], Callable[..., Any]]] = []
        self.rpc: dict[tuple[str, str], Callable[..., Any]] = {}

    def route(self, method: str, template: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.v2.append((method, template, _template_regex(template), func))
            return func

        return register

    def rpc_route(
        self, query_type: str, query_method: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.rpc[(query_type, query_method)] = func
            return func

        return register

    def match_v2(self, method: str, path: str) -> tuple[str, Callable[..., Any] | None, dict[str, str]]:
        for route_method, template, regex, func in self.v2:
            found = regex.match(path)
            if found and route_method == method:
                return template, func, found.groupdict()
        return path, None, {}


class EmulatorServer(ThreadingHTTPServer):
    """The HTTP server; ``emulator`` holds the store, the faults and the request log."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Any, router: Router) -> None:
        super().__init__(address, Handler)
        self.emulator = emulator
        self.router = router
        self.stopping = threading.Event()


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "EncordEmulator/1.0"
    # Headers and body go out in two writes. With Nagle's algorithm on, the body of a small answer on a
    # kept-alive connection waits for the client's delayed acknowledgement of the headers (about 40 ms);
    # web servers switch it off, and so does this one.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    # -- entry points ----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        # A handler serves every request of one kept-alive connection: no fault state may outlive a request.
        self._truncate = False
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        path = split.path
        record = RecordedRequest(
            transport="rpc" if path in ("/public", "/public/user") else "v2",
            method=self.command,
            path=path,
            route="",
            query=parse_qs(split.query, keep_blank_values=True),
            user_agent=self.headers.get("User-Agent", ""),
            client_port=self.client_address[1],
        )
        try:
            record.body = orjson.loads(raw) if raw else None
        except ValueError:
            record.body = None
        try:
            if record.transport == "rpc":
                self._rpc(record, raw)
            elif path.startswith("/v2/public/"):
                self._v2(record, raw, path[len("/v2/public") :])
            else:
                record.route = f"other:{self.command}:{path}"
                self._send_json(404, {"message": f"No route {self.command} {path}"}, record)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._commit(record)

    def _commit(self, record: RecordedRequest) -> None:
        """Log the request once, before its answer leaves, so a client that got it sees it in the log."""
        if getattr(self, "_committed", None) is not record:
            self._committed = record
            self.server.emulator._record(record)

    # -- faults ----------------------------------------------------------------------------------------
    def _apply_fault(self, record: RecordedRequest, keys: list[str]) -> bool:
        """Inject a matching fault. True when the request is fully answered (or dropped) by it."""
        fault = self.server.emulator._take_fault(keys)
        if fault is None:
            return False
        record.fault = fault.kind
        if fault.kind == "latency":
            self.server.stopping.wait(fault.delay or 0)
            return False
        if fault.kind == "timeout":
            # Hold the answer longer than the client waits, then answer normally (to nobody).
            self.server.stopping.wait(fault.delay if fault.delay is not None else 5.0)
            return False
        if fault.kind == "truncate":
            self._truncate = True  # answered normally, but the body stops halfway (see _send_json)
            return False
        if fault.kind == "drop":
            record.status = 0
            self.close_connection = True
            self._commit(record)  # logged before the client sees the connection close
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.kind == "rpc_error":
            envelope = {"status": fault.status or 400, "response": [fault.error_code or "UNKNOWN_ERROR"]}
            self._send_json(200, envelope, record)
            return True
        status = fault.status or 500
        headers = {"Retry-After": _retry_after(fault.retry_after)} if fault.retry_after is not None else {}
        self._send_json(status, {"message": f"Injected fault: HTTP {status}"}, record, headers)
        return True

    # -- RPC -------------------------------------------------------------------------------------------
    def _rpc(self, record: RecordedRequest, raw: bytes) -> None:
        body = record.body if isinstance(record.body, dict) else {}
        record.query_type = body.get("query_type")
        record.query_method = body.get("query_method")
        record.resource_type = self.headers.get("ResourceType") or None
        record.resource_id = self.headers.get("ResourceID") or None
        record.route = f"rpc:{record.query_type}:{record.query_method}"
        if self._apply_fault(record, [record.route]):
            return
        emulator = self.server.emulator
        user = self._rpc_user(raw, record)
        if user is None:
            return
        handler = self.server.router.rpc.get((record.query_type or "", record.query_method or ""))
        if handler is None:
            self._send_json(200, {"status": 405, "response": ["METHOD_NOT_ALLOWED_ERROR"]}, record)
            return
        values = body.get("values") or {}
        ctx = Context(emulator.store, user, emulator.max_page_size, emulator.upload_polls)
        try:
            with emulator.store.lock:
                result = handler(
                    ctx,
                    resource_type=record.resource_type,
                    resource_id=record.resource_id,
                    uid=values.get("uid"),
                    payload=values.get("payload"),
                    user_path=record.path == "/public/user",
                )
        except RpcError as err:
            envelope: dict[str, Any] = {"status": err.status, "response": [err.code]}
            if err.payload is not None:
                envelope["payload"] = err.payload
            self._send_json(err.http_status, envelope, record)
            return
        self._send_json(200, {"status": 200, "response": result}, record)

    def _rpc_user(self, raw: bytes, record: RecordedRequest) -> User | None:
        store = self.server.emulator.store
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = store.user_by_token(header[len("Bearer ") :])
            if user is None:
                self._send_json(401, {"status": 401, "response": ["AUTHENTICATION_ERROR"]}, record)
            record.user = user.email if user else None
            return user
        key_hex, _, signature_hex = header.partition(":")
        user = store.user_by_key(key_hex) if key_hex else None
        if user is None:
            self._send_json(401, {"status": 401, "response": ["SSH_KEY_NOT_FOUND_ERROR"]}, record)
            return None
        try:
            public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
            public_key.verify(bytes.fromhex(signature_hex), hashlib.sha256(raw).digest())
        except (ValueError, InvalidSignature):
            self._send_json(401, {"status": 401, "response": ["AUTHENTICATION_ERROR"]}, record)
            return None
        record.user = user.email
        return user

    # -- v2 --------------------------------------------------------------------------------------------
    def _v2(self, record: RecordedRequest, raw: bytes, path: str) -> None:
        template, handler, params = self.server.router.match_v2(self.command, path.rstrip("/") or "/")
        record.route = f"v2:{self.command}:{template}"
        if self._apply_fault(record, [record.route, f"v2:{self.command}:{path}"]):
            return
        emulator = self.server.emulator
        user = self._v2_user(raw, record)
        if user is None:
            return
        if handler is None:
            self._send_json(404, {"message": f"No route {self.command} {path}"}, record)
            return
        ctx = Context(emulator.store, user, emulator.max_page_size, emulator.upload_polls)
        query = {key: values for key, values in record.query.items()}
        try:
            with emulator.store.lock:
                result = handler(ctx, query=query, body=record.body, **params)
        except ApiError as err:
            self._send_json(err.status, {"message": err.message}, record)
            return
        if result is None:
            record.status = 204
            self._commit(record)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return  # nothing to cut: a 'truncate' fault leaves a void answer whole
        self._send_json(200, result, record)

    def _v2_user(self, raw: bytes, record: RecordedRequest) -> User | None:
        store = self.server.emulator.store
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = store.user_by_token(header[len("Bearer ") :])
            if user is None:
                self._send_json(401, {"message": "Invalid bearer token."}, record)
            record.user = user.email if user else None
            return user
        signature_input = self.headers.get("Signature-Input", "")
        signature = self.headers.get("Signature", "")
        digest = self.headers.get("Content-Digest", "")
        found = re.search(r'keyid="([0-9a-fA-F]+)"', signature_input)
        user = store.user_by_key(found.group(1)) if found else None
        if user is None:
            self._send_json(401, {"message": "Unknown public key."}, record)
            return None
        expected_digest = f"sha-256=:{base64.b64encode(hashlib.sha256(raw).digest()).decode()}:"
        params = signature_input.partition("=")[2]
        base = "\n".join(
            [
                f'"@method": {self.command}',
                f'"@request-target": {self.path}',
                f'"content-digest": {digest}',
                f'"@signature-params": {params}',
            ]
        )
        try:
            if digest != expected_digest or not signature.startswith("encord-sig=:"):
                raise ValueError("digest")
            sig = base64.b64decode(signature[len("encord-sig=:") :].rstrip(":"))
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(found.group(1))).verify(sig, base.encode())
        except (ValueError, InvalidSignature):
            self._send_json(401, {"message": "Invalid request signature."}, record)
            return None
        record.user = user.email
        return user

    # -- output ----------------------------------------------------------------------------------------
    def _send_json(
        self, status: int, payload: Any, record: RecordedRequest, headers: dict[str, str] | None = None
    ) -> None:
        data = dumps(payload)
        record.status = status
        self._commit(record)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self._truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)


def _retry_after(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def wait_for_port(host: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.01)
    raise RuntimeError(f"emulator did not start on {host}:{port}")
