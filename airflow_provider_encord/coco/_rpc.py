"""Read-only RPC reads for the export, signed by the SDK, with responses parsed as the export needs them.

The SDK's ``list_label_rows`` reads the whole ``labelrowmetadata`` answer into memory and turns every row
into a ``LabelRowMetadata`` (a few kilobytes each: half a gigabyte for 100k rows), and ``get_label_rows``
wraps every label row in an ORM object the converter does not need. Here the same requests are sent (the
SDK builds and signs them), the listing is parsed as a stream keeping only the fields the export uses, and
label rows stay plain dictionaries. Errors map to the SDK's own exceptions, as the SDK maps them; 429 and
5xx answers are retried a bounded number of times (the SDK's ``max_retries``), honouring ``Retry-After``.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import requests
    from encord.http.constants import RequestsSettings
    from encord.project import Project

#: Statuses retried (at most ``max_retries`` times), waiting as long as a ``Retry-After`` header asks.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Bytes read from the socket at a time while streaming.
CHUNK_SIZE = 1 << 16
#: Answers up to this size are also kept whole, so that an error envelope maps exactly as the SDK maps it.
SMALL_ANSWER = 1 << 20


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


def _send(request: _Request, *, stream: bool) -> tuple[requests.Session, requests.Response, Any]:
    from encord.exceptions import RequestException

    context = _context(request)
    session = _session(request.settings)
    try:
        response = session.post(
            request.endpoint,
            data=request.body,
            headers=request.headers,
            timeout=request.timeout,
            stream=stream,
        )
    except Exception as error:
        session.close()
        raise RequestException(f"Request to {request.endpoint} failed", context=context) from error
    if response.status_code != 200:
        try:
            _raise_for_http(response, context)
        finally:
            response.close()
            session.close()
    return session, response, context


def _unparseable(content: bytes, context: Any) -> Exception:
    from encord.exceptions import RequestException

    text = content[:200].decode(errors="replace").strip()
    return RequestException(f"Error parsing JSON response: {text}", context=context)


def _loads(content: bytes) -> Any:
    """``orjson.loads`` with the cyclic garbage collector paused for the call.

    A parsed JSON document has no reference cycles, so the collector has nothing to find in it; left on, it
    runs once per 700 new objects while a bundle (about 100 000 objects for 500 label rows) is parsed, and
    its full passes traverse every live object, the bundle being converted included. Pausing it makes the
    parse about three times cheaper. It is switched back on only if it was on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return orjson.loads(content)
    finally:
        if enabled:
            gc.enable()


def rpc_read(project: Project, query_type: str, uid: Any, payload: Any) -> Any:
    """One RPC read, its whole answer parsed: the ``response`` of the envelope, or the SDK's exception."""
    session, response, context = _send(_sdk_signed_request(project, query_type, uid, payload), stream=False)
    with session, response:
        content = response.content
    try:
        envelope = _loads(content)
    except orjson.JSONDecodeError as error:
        raise _unparseable(content, context) from error
    _raise_for_envelope(envelope, context)
    return envelope.get("response")


def rpc_stream(
    project: Project, query_type: str, payload: Any, keep: Callable[[dict[str, Any]], Any]
) -> Iterator[Any]:
    """One RPC read whose ``response`` is a list, parsed as it arrives: yields ``keep(item)`` for each item.

    Only one item is in memory at a time (plus what ``keep`` returns), whatever the size of the answer. An
    answer of up to :data:`SMALL_ANSWER` bytes is also kept whole and its envelope checked as the SDK checks
    it; error envelopes are far smaller than that, so a longer answer is a listing (its items are checked to
    be objects).
    """
    import ijson

    session, response, context = _send(_sdk_signed_request(project, query_type, None, payload), stream=True)
    items = ijson.sendable_list()
    parser = ijson.items_coro(items, "response.item", use_float=True)
    head = bytearray()
    others: list[Any] = []
    try:
        for chunk in itertools.chain(response.iter_content(CHUNK_SIZE), [None]):
            if chunk is None:  # the end of the answer: let the parser finish
                parser.close()
            else:
                if len(head) <= SMALL_ANSWER:
                    head += chunk
                parser.send(chunk)
            for item in items:
                if isinstance(item, dict):
                    yield keep(item)
                else:  # an error envelope lists its error code as the response
                    others.append(item)
            del items[:]
    except ijson.JSONError as error:
        raise _unparseable(bytes(head), context) from error
    finally:
        response.close()
        session.close()
    if len(head) <= SMALL_ANSWER:
        _raise_for_envelope(orjson.loads(bytes(head)), context)
    elif others:
        _raise_for_envelope({"status": None, "response": others}, context)
