"""Read-only RPC reads for the export, signed by the SDK, with responses parsed as the export needs them.

The SDK's ``list_label_rows`` reads the whole ``labelrowmetadata`` answer into memory and turns every row
into a ``LabelRowMetadata`` (a few kilobytes each: half a gigabyte for 100k rows), and ``get_label_rows``
wraps every label row in an ORM object the converter does not need. Here the same requests are sent (the
SDK builds and signs them), the listing is parsed as a stream into structs of only the fields the export
uses, and label rows are decoded by the caller (into the structs of ``coco._schema``). Errors map to the
SDK's own exceptions, as the SDK maps them; 429 and 5xx answers are retried a bounded number of times (the
SDK's ``max_retries``), honouring ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import gc
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

if TYPE_CHECKING:
    import requests
    from encord.http.constants import RequestsSettings
    from encord.project import Project

T = TypeVar("T")

#: Statuses retried (at most ``max_retries`` times), waiting as long as a ``Retry-After`` header asks.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Bytes read from the socket at a time while streaming.
CHUNK_SIZE = 1 << 16


class _Request:
    """One signed RPC request, ready to send."""

    def __init__(
        self,
        endpoint: str,
        headers: dict[str, str],
        body: bytes,
        timeout: tuple[float, float],
        settings: RequestsSettings,
    ) -> None:
        self.endpoint = endpoint
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.settings = settings


def _sdk_signed_request(project: Project, query_type: str, uid: Any, payload: Any) -> _Request:
    """The RPC read the SDK itself would send for ``query_type``, built and signed by the SDK.

    This is the only place the export uses the SDK's private API (``Project._client._querier`` and its
    config), pinned by ``encord>=0.1.211,<0.2``: the querier knows the endpoint, the resource headers, the
    timeouts and how to sign (SSH key or bearer token), and ``Request`` encodes the body the server expects.
    """
    from encord.http.query_methods import QueryMethods
    from encord.http.request import Request

    querier = project._client._querier
    config = querier._config
    request = Request(QueryMethods.GET, query_type, uid, config.read_timeout, config.connect_timeout, payload)
    headers = config.define_headers(
        resource_id=querier.resource_id, resource_type=querier.resource_type, data=request.data
    )
    return _Request(
        config.endpoint,
        headers,
        request.data.encode(),
        (config.connect_timeout, config.read_timeout),
        config.requests_settings,
    )


def _session(settings: RequestsSettings) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class _Retry(Retry):
        # urllib3 honours Retry-After only for 413, 429 and 503 by default.
        RETRY_AFTER_STATUS_CODES = RETRY_STATUSES

    retry = _Retry(
        total=None,
        connect=settings.connection_retries,
        read=settings.max_retries,
        status=settings.max_retries,
        other=settings.max_retries,
        allowed_methods=frozenset({"POST"}),  # RPC reads are POSTs
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _context(request: _Request) -> Any:
    from encord.http.common import RequestContext

    domain = request.endpoint.split("/public", 1)[0] + "/"
    return RequestContext(domain=domain)


def _raise_for_envelope(envelope: Any, context: Any) -> None:
    """Raise what the SDK raises for an RPC answer whose envelope is not ``status: 200``."""
    from encord.http.error_utils import check_error_response

    if not isinstance(envelope, Mapping):
        check_error_response(None, context, None)
    if envelope.get("status") != 200:
        check_error_response(envelope.get("response"), context, envelope.get("payload"))


def _raise_for_http(response: requests.Response, context: Any) -> None:
    """Raise what the SDK raises for an answer whose HTTP status is not 200 (after the retries)."""
    from encord.exceptions import PayloadTooLargeError, RateLimitExceededError, RequestException
    from encord.http.common import parse_retry_after

    if response.status_code == 429:
        raise RateLimitExceededError(retry_after=parse_retry_after(response.headers), context=context)
    try:
        envelope = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        envelope = None
    if response.status_code == 413:
        message = envelope.get("message") if isinstance(envelope, dict) else None
        raise PayloadTooLargeError(
            message if isinstance(message, str) else "Request payload is too large.", context=context
        )
    if envelope is None:
        raise RequestException(
            f"Error parsing JSON response (HTTP {response.status_code}): {response.text.strip()[:200]}",
            context=context,
        )
    _raise_for_envelope(envelope, context)
    raise RequestException(f"HTTP {response.status_code} from the Encord API", context=context)


class Sessions:
    """HTTP sessions reused by the reads of one export, so that each read does not open a new connection.

    Against the hosted API a new connection costs a TLS handshake; here each read takes an idle session (or
    makes one) and gives it back when its answer has been read, so an export opens about as many
    connections as it has reads under way at once. Use as a context manager: leaving it closes every
    session. An answer that was not read to the end closes its own connection (``Response.close``), so a
    session given back never holds a half-read answer.
    """

    def __init__(self) -> None:
        self._idle: list[requests.Session] = []
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self, settings: RequestsSettings) -> requests.Session:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        session = _session(settings)
        with self._lock:
            self._all.append(session)
        return session

    def give_back(self, session: requests.Session) -> None:
        with self._lock:
            if self._closed:
                session.close()
            else:
                self._idle.append(session)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sessions, self._all, self._idle = self._all, [], []
        for session in sessions:
            session.close()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _send(
    request: _Request, *, stream: bool, sessions: Sessions
) -> tuple[requests.Session, requests.Response, Any]:
    """Send ``request`` with a session from ``sessions``: the session, the answer (status 200), its context.

    On an error (no answer, or a status other than 200) the session is given back before the SDK's exception
    is raised; otherwise the caller gives it back once the answer is read (see :func:`_answer`).
    """
    from encord.exceptions import RequestException

    context = _context(request)
    session = sessions.take(request.settings)
    try:
        response = session.post(
            request.endpoint,
            data=request.body,
            headers=request.headers,
            timeout=request.timeout,
            stream=stream,
        )
    except Exception as error:
        sessions.give_back(session)
        raise RequestException(f"Request to {request.endpoint} failed", context=context) from error
    if response.status_code != 200:
        try:
            _raise_for_http(response, context)
        finally:
            response.close()
            sessions.give_back(session)
    return session, response, context


@contextlib.contextmanager
def _answer(request: _Request, sessions: Sessions | None) -> Iterator[tuple[requests.Response, Any]]:
    """The answer (status 200) to ``request`` and its context; the session is given back after the block.

    Without ``sessions`` (a read outside an export) the read has a pool of its own, closed after it.
    """
    with contextlib.ExitStack() as stack:
        pool = sessions if sessions is not None else stack.enter_context(Sessions())
        session, response, context = _send(request, stream=True, sessions=pool)
        try:
            yield response, context
        finally:
            response.close()  # closes the connection of an answer not read to the end
            pool.give_back(session)


def _unparseable(content: bytes, context: Any) -> Exception:
    from encord.exceptions import RequestException

    text = content[:200].decode(errors="replace").strip()
    return RequestException(f"Error parsing JSON response: {text}", context=context)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, switching it back on after only if it was on.

    Parsed JSON and the COCO dictionaries built from it hold no reference cycles: reference counting frees
    them the moment they are dropped, and the collector has nothing to find in them. Left on, it runs once
    per 700 new objects while a bundle (about 100 000 objects for 500 label rows) is parsed and converted,
    and its older generations, which fill up with the bundle read ahead, are traversed again and again. With
    it paused, the export spends about a quarter less time. The few cycles a request leaves behind are
    collected as usual once the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _loads(content: bytes) -> Any:
    """``orjson.loads`` with the cyclic garbage collector paused (see :func:`gc_paused`)."""
    with gc_paused():
        return orjson.loads(content)


def _read_body(response: requests.Response, context: Any) -> bytes:
    """The whole body of an answer, read in as few calls as the socket allows.

    ``requests`` reads a body 10 kB at a time. The bundles are read in a background thread while the main
    thread converts, and each read gives up the interpreter lock and must win it back from the converting
    thread (which holds it for up to ``sys.getswitchinterval()``, 5 ms): 200 reads for a 2 MB bundle. One
    ``read()`` of the whole body asks the socket for everything at once.
    """
    from encord.exceptions import RequestException

    try:
        return response.raw.read(decode_content=True)
    except Exception as error:
        raise RequestException("Reading the answer failed", context=context) from error


def _chunks(response: requests.Response, context: Any) -> Iterator[bytes]:
    """The body of an answer in chunks of up to :data:`CHUNK_SIZE` bytes, as the SDK's errors."""
    from encord.exceptions import RequestException

    chunks = response.raw.stream(CHUNK_SIZE, decode_content=True)
    while True:
        try:
            chunk = next(chunks, None)
        except Exception as error:
            raise RequestException("Reading the answer failed", context=context) from error
        if chunk is None:
            return
        yield chunk


def rpc_read(
    project: Project,
    query_type: str,
    uid: Any,
    payload: Any,
    decode: Callable[[bytes], Any] | None = None,
    sessions: Sessions | None = None,
) -> Any:
    """One RPC read, its whole answer parsed: the ``response`` of the envelope, or the SDK's exception.

    :param decode: a faster parser of a successful answer, returning its ``response`` or ``None`` for an
        answer it does not understand (an error envelope, unexpected data), which is then parsed as plain
        JSON and checked as usual.
    :param sessions: the sessions of the export this read is part of (a session of its own if not given)
    """
    with _answer(_sdk_signed_request(project, query_type, uid, payload), sessions) as (response, context):
        content = _read_body(response, context)
    if decode is not None:
        with gc_paused():
            decoded = decode(content)
        if decoded is not None:
            return decoded
    try:
        envelope = _loads(content)
    except orjson.JSONDecodeError as error:
        raise _unparseable(content, context) from error
    _raise_for_envelope(envelope, context)
    return envelope.get("response")


#: Bytes of a streamed answer parsed at a time: the listing is parsed in windows of about this size.
WINDOW = 1 << 20
#: Where the ``response`` list of an RPC envelope starts.
_RESPONSE_LIST = re.compile(rb'"response"\s*:\s*\[')
#: Between two objects of a list: the end of a window can only be at one of these.
_BETWEEN_OBJECTS = re.compile(rb"\}\s*,\s*\{")
#: Candidate window ends tried before waiting for more bytes (a later window or the end settles it).
_ATTEMPTS = 4


class _ListSplitter:
    """Cuts a streamed RPC envelope ``{..., "response": [item, ...], ...}`` into lists of parsed items.

    Bytes go in with :meth:`feed`; each call returns the items that are complete so far, parsed by
    ``decode`` (``orjson.loads`` unless given) a window at a time, so that memory holds one window, not the
    whole answer. A window ends at a ``}, {`` between two items. Such bytes can also stand inside a string or
    inside a nested list, but the window is then not a valid list of values and fails to parse, so a window
    that parses ends exactly after an item of the response list; after a failure the previous candidate is
    tried. Items taken out leave the envelope valid JSON: :meth:`finish` parses the head (before the list),
    what is left of the list and the tail as one document, and returns it, so the envelope is checked as a
    whole.
    """

    def __init__(self, decode: Callable[[bytes | bytearray], list[Any]] = orjson.loads) -> None:
        self._decode = decode  # parses one window, a JSON list; raises a ValueError for what does not parse
        self._head: bytes | None = None  # the envelope up to and including the "[" of the response list
        self._buffer = bytearray()
        self._last_failure = -1  # the window end that last failed, not tried again
        self._wait_for = WINDOW  # parse once the buffer holds this many bytes

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        if self._head is None:
            match = _RESPONSE_LIST.search(self._buffer)
            if match is None:
                return []
            self._head = bytes(self._buffer[: match.end()])
            del self._buffer[: match.end()]
        if len(self._buffer) < self._wait_for:
            return []
        items = self._take()
        # After a window that would not parse, wait for another window's worth before trying again.
        self._wait_for = WINDOW if items else len(self._buffer) + WINDOW
        return items

    def _take(self) -> list[Any]:
        buffer = self._buffer
        end = len(buffer)
        for _ in range(_ATTEMPTS):
            cut = buffer.rfind(b"}", 0, end)
            while cut > 0 and not _BETWEEN_OBJECTS.match(buffer, cut):
                cut = buffer.rfind(b"}", 0, cut)
            if cut <= 0 or cut == self._last_failure:
                return []
            window = bytearray(b"[")
            window += memoryview(buffer)[: cut + 1]
            window += b"]"
            try:
                items = self._decode(window)
            except ValueError:  # orjson.JSONDecodeError, msgspec.DecodeError and ValidationError
                self._last_failure = cut
                end = cut
                continue
            comma = buffer.index(b",", cut + 1)
            del buffer[: comma + 1]
            self._last_failure = -1
            return items
        return []

    def finish(self) -> Any:
        """The envelope with what is left of the response list (raises ``orjson.JSONDecodeError``)."""
        document = bytearray(self._head or b"")
        document += self._buffer
        return orjson.loads(document)


def rpc_stream(
    project: Project, query_type: str, payload: Any, item_type: type[T], sessions: Sessions | None = None
) -> Iterator[T]:
    """One RPC read whose ``response`` is a list of objects, parsed as it arrives into ``item_type`` structs.

    The answer is parsed a window of about :data:`WINDOW` bytes at a time (see :class:`_ListSplitter`) by a
    ``msgspec`` decoder that builds only the fields of ``item_type`` (a struct whose fields all have defaults
    and take any value) and skips the rest, so that memory holds one window of items, whatever the size of
    the answer. The envelope is checked as the SDK checks it once the answer is complete.
    """
    import msgspec

    decode = msgspec.json.Decoder(list[item_type], strict=False).decode  # type: ignore[valid-type]
    with _answer(_sdk_signed_request(project, query_type, None, payload), sessions) as (response, context):
        splitter = _ListSplitter(decode)
        head = bytearray()  # the start of the answer, for the error message of an answer that does not parse
        try:
            for chunk in _chunks(response, context):
                if len(head) < 200:
                    head += chunk[:200]
                yield from splitter.feed(chunk)
            envelope = splitter.finish()
        except orjson.JSONDecodeError as error:
            raise _unparseable(bytes(head), context) from error
    _raise_for_envelope(envelope, context)
    for item in envelope.get("response") or ():
        if not isinstance(item, dict):
            raise _unparseable(bytes(head), context)
        yield msgspec.convert(item, item_type, strict=False)
