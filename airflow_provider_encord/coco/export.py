"""Fetch a project's label rows in bundles and write them as COCO, without creating or changing anything.

The fetching sends two kinds of read-only RPC requests, the ones the Encord SDK's ``list_label_rows`` and
``get_label_rows`` send (built and signed by the SDK, see :mod:`airflow_provider_encord.coco._rpc`): one
``labelrowmetadata`` listing for the whole project (filtered on the server where the API allows it), parsed
as it streams in so that memory does not grow with the project, then one ``labelrow`` read per bundle of
label hashes, read ahead in a background thread. Rows that were never labelled (no label hash) are counted
and skipped: initialising them through the SDK would create label rows on the server.
"""

from __future__ import annotations

import collections
import datetime
import io
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from typing import IO, TYPE_CHECKING, Any

import orjson

from airflow_provider_encord._defaults import DEFAULT_BUNDLE_SIZE
from airflow_provider_encord.coco._rpc import Sessions, gc_paused, rpc_read, rpc_stream
from airflow_provider_encord.coco._schema import LabelRow, ListedRow, decode_bundle
from airflow_provider_encord.coco.converter import CocoConverter
from airflow_provider_encord.coco.writer import CocoStreamWriter

if TYPE_CHECKING:
    from encord.project import Project

#: The server reads at most this many label rows in one request.
MAX_BUNDLE_SIZE = 1000


def _status_names() -> tuple[list[str], list[str]]:
    """Task statuses the server filters on, and label statuses (manual-QA projects) checked per row."""
    from encord.orm.label_row import AnnotationTaskStatus, LabelStatus

    server = [status.value for status in AnnotationTaskStatus]
    per_row = [status.value for status in LabelStatus if not status.value.startswith("_")]
    return server, per_row


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class _Filters:
    """Validated export filters, split into what the server applies and what is checked per row."""

    def __init__(
        self,
        *,
        label_hashes: Iterable[str] | None,
        label_statuses: Iterable[Any] | None,
        workflow_stage: str | None,
        edited_after: datetime.datetime | str | None,
        bundle_size: int,
        edited_before: datetime.datetime | str | None = None,
    ) -> None:
        if isinstance(bundle_size, bool) or not isinstance(bundle_size, int) or not bundle_size >= 1:
            raise ValueError(
                f"bundle_size={bundle_size!r} is not valid: pass an integer from 1 to {MAX_BUNDLE_SIZE}."
            )
        if bundle_size > MAX_BUNDLE_SIZE:
            raise ValueError(
                f"bundle_size={bundle_size!r} is above the server's limit: pass at most {MAX_BUNDLE_SIZE}."
            )
        self.bundle_size = bundle_size
        if isinstance(label_hashes, str):
            raise ValueError(
                f"label_hashes={label_hashes!r} is a single string: pass a list of label hashes, "
                f"e.g. [{label_hashes!r}]."
            )
        self.label_hashes = (
            list(dict.fromkeys(str(h) for h in label_hashes)) if label_hashes is not None else None
        )
        self.server_statuses: list[str] | None = None
        self.row_statuses: set[str] | None = None
        if label_statuses is not None:
            if isinstance(label_statuses, str):
                label_statuses = [label_statuses]
            names = [str(getattr(status, "value", status)).upper() for status in label_statuses]
            server_names, row_names = _status_names()
            unknown = [n for n in names if n not in server_names and n not in row_names]
            if unknown or not names:
                raise ValueError(
                    f"label_statuses={list(names)!r} is not valid: use task statuses "
                    f"{server_names} or label statuses {row_names}."
                )
            server = [n for n in names if n in server_names]
            row = {n for n in names if n in row_names}
            if server and row:
                raise ValueError(
                    f"label_statuses={names!r} mixes task statuses {server} with label statuses "
                    f"{sorted(row)}: pass statuses of one kind."
                )
            self.server_statuses = server or None
            self.row_statuses = row or None
        if workflow_stage is not None and (not isinstance(workflow_stage, str) or not workflow_stage.strip()):
            raise ValueError(
                f"workflow_stage={workflow_stage!r} is not valid: pass the stage's title or UUID as a string."
            )
        self.stage_uuid = workflow_stage.lower() if workflow_stage and _UUID.match(workflow_stage) else None
        self.stage_title = workflow_stage if workflow_stage and not self.stage_uuid else None
        self.edited_after = _parse_time(edited_after, "edited_after")
        self.edited_before = _parse_time(edited_before, "edited_before")
        if self.edited_after and self.edited_before and self.edited_before <= self.edited_after:
            raise ValueError(
                f"edited_before={self.edited_before.isoformat()} is not after "
                f"edited_after={self.edited_after.isoformat()}: pass an interval that is not empty."
            )

    def keep(self, row: ListedRow) -> bool:
        """Checks the SDK cannot ask the server for, applied to one listed row."""
        if self.label_hashes is not None and row.label_hash not in self._label_hash_set:
            return False
        if self.row_statuses is not None and row.label_status not in self.row_statuses:
            return False
        if self.stage_uuid is not None or self.stage_title is not None:
            if row.stage_uuid is None:
                return False
            if self.stage_uuid is not None and str(row.stage_uuid).lower() != self.stage_uuid:
                return False
            if self.stage_title is not None and row.stage_title != self.stage_title:
                return False
        if (self.edited_after or self.edited_before) and row.last_edited_at is not None:
            from encord.common.time_parser import parse_datetime

            edited = parse_datetime(row.last_edited_at)
            if edited.tzinfo is None:
                edited = edited.replace(tzinfo=datetime.timezone.utc)
            if self.edited_after is not None and edited < self.edited_after:
                return False
            if self.edited_before is not None and edited >= self.edited_before:
                return False
        return True

    @property
    def _label_hash_set(self) -> set[str]:
        cached = self.__dict__.get("_hash_set")
        if cached is None:
            cached = self.__dict__["_hash_set"] = set(self.label_hashes or ())
        return cached


def _parse_time(value: datetime.datetime | str | None, name: str) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO-8601 time: pass a datetime or a string such as "
                "'2024-05-01T00:00:00Z'."
            ) from None
    if not isinstance(value, datetime.datetime):
        raise ValueError(f"{name}={value!r} is not a datetime: pass a datetime or an ISO-8601 string.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def _listing_payload(filters: _Filters) -> dict[str, Any]:
    """The ``labelrowmetadata`` payload the SDK's ``list_label_rows`` sends for these filters."""
    return {
        "edited_before": filters.edited_before.isoformat() if filters.edited_before is not None else None,
        "edited_after": filters.edited_after.isoformat() if filters.edited_after is not None else None,
        "label_statuses": filters.server_statuses,
        "shadow_data_state": None,
        "include_uninitialised_labels": True,
        "data_hashes": None,
        "label_hashes": filters.label_hashes,
        "data_title_eq": None,
        "data_title_like": None,
        "workflow_graph_node_title_eq": filters.stage_title,
        "workflow_graph_node_title_like": None,
        "include_client_metadata": False,
        "include_images_data": False,
        "include_children": False,
        "include_workflow_graph_node": filters.stage_uuid is not None or filters.stage_title is not None,
        "include_all_label_branches": False,
        "branch_name": None,
        "client_metadata_as_signed_url": False,
    }


def _listed_label_hashes(
    project: Project, filters: _Filters, counts: dict[str, int], sessions: Sessions | None = None
) -> Iterator[str]:
    """One ``labelrowmetadata`` request, parsed as it arrives: the label hashes to export, in order.

    A generator, so that the first bundles can be read while the rest of the listing is still arriving.
    """
    if filters.label_hashes == []:
        return
    seen: set[str] = set()
    for row in rpc_stream(project, "labelrowmetadata", _listing_payload(filters), ListedRow, sessions):
        counts["label_rows_listed"] += 1
        label_hash = row.label_hash
        if not filters.keep(row):
            counts["skipped_filtered"] += 1
        elif label_hash is None:
            counts["skipped_unlabelled"] += 1
        elif label_hash not in seen:
            seen.add(label_hash)
            yield label_hash


def _bundle_payload(feature_hashes: set[str] | None) -> dict[str, Any]:
    """The ``labelrow`` payload the SDK's ``get_label_rows`` sends (no signed URLs)."""
    return {
        "get_signed_url": False,
        "multi_request": True,
        "include_object_feature_hashes": sorted(feature_hashes) if feature_hashes is not None else None,
        "include_classification_feature_hashes": None,
        "include_reviews": False,
        "include_export_history": False,
        "include_archived": False,
    }


#: Bundles read ahead of the conversion: enough to overlap the next reads with converting this one, few
#: enough that memory stays flat.
PREFETCH_BUNDLES = 2
#: Reads under way at once. Two keep the server busy preparing the next bundle while this process parses
#: the previous one (one reader would leave the server idle while it parses, and this process idle while
#: the server prepares).
READERS = 2


def _label_rows(
    project: Project,
    label_hashes: Iterable[str],
    bundle_size: int,
    feature_hashes: set[str] | None,
    counts: dict[str, int] | None = None,
    sessions: Sessions | None = None,
) -> Iterator[LabelRow | dict[str, Any]]:
    """Label rows, one ``labelrow`` read per ``bundle_size`` hashes, in the order of ``label_hashes``.

    Background threads read the next bundles while the caller converts the current one (at most
    :data:`PREFETCH_BUNDLES` waiting, :data:`READERS` reads under way); ``label_hashes`` is consumed as the
    reads need it, so a streamed listing and the reads overlap. An error in a read is raised here, in order;
    closing the iterator early stops the threads before their next read. ``counts["label_row_requests"]``
    counts the reads; ``sessions`` are the HTTP sessions they share.
    """
    counts = counts if counts is not None else {}
    counts.setdefault("label_row_requests", 0)

    payload = _bundle_payload(feature_hashes)  # the same for every read

    def read(bundle: list[str]) -> list[LabelRow | dict[str, Any]]:
        rows = rpc_read(project, "labelrow", bundle, payload, decode=decode_bundle, sessions=sessions)
        position = {label_hash: index for index, label_hash in enumerate(bundle)}
        return sorted(rows, key=lambda row: position.get(_label_hash_of(row), len(position)))

    def batches() -> Iterator[list[str]]:
        hashes = iter(label_hashes)
        while bundle := list(itertools.islice(hashes, bundle_size)):
            counts["label_row_requests"] += 1
            yield bundle

    bundles = batches()
    first = next(bundles, None)
    second = next(bundles, None) if first is not None else None
    if second is None:  # one bundle or none: no read-ahead
        if first is not None:
            yield from read(first)
        return
    with _Prefetcher(read, itertools.chain((first, second), bundles), PREFETCH_BUNDLES, READERS) as results:
        for rows in results:
            yield from rows


def _label_hash_of(row: Any) -> Any:
    """The label hash of a decoded row, or of a plain one (an answer the fast decoder did not take)."""
    if isinstance(row, LabelRow):
        return row.label_hash
    return row.get("label_hash") if isinstance(row, dict) else None


class _Skipped(Exception):
    """A read not started because another read had failed."""


class _Prefetcher:
    """Runs ``read`` over ``items`` in background threads, handing results on in the order of ``items``.

    At most ``depth`` results wait to be taken and ``readers`` reads run at once. Iterating yields each result
    or raises the read's exception (reads after a failed one are not started); leaving the ``with`` block
    (normally, on an error or on an early exit) cancels the reads not yet started and waits for the threads.
    """

    def __init__(
        self, read: Callable[[Any], Any], items: Iterable[Any], depth: int, readers: int = 1
    ) -> None:
        self._read = read
        self._items = items
        self._depth = depth
        self._readers = readers
        self._failed = threading.Event()
        self._pool: ThreadPoolExecutor | None = None

    def _guarded(self, item: Any) -> Any:
        if self._failed.is_set():
            raise _Skipped
        try:
            return self._read(item)
        except BaseException:
            self._failed.set()
            raise

    def __enter__(self) -> Iterator[Any]:
        self._pool = ThreadPoolExecutor(max_workers=self._readers, thread_name_prefix="coco-export-prefetch")
        return self._results(self._pool)

    def _results(self, pool: ThreadPoolExecutor) -> Iterator[Any]:
        pending: collections.deque[Future[Any]] = collections.deque()
        items = iter(self._items)
        window = self._depth + self._readers
        for item in itertools.islice(items, window):
            pending.append(pool.submit(self._guarded, item))
        while pending:
            try:
                result = pending.popleft().result()
            except _Skipped:
                # Not started because a read handed over later failed first (two threads take reads in
                # order, but one may start its read after the other's has failed): that read's error
                # comes next in order; nothing is handed on in between.
                continue
            if not self._failed.is_set():
                for item in itertools.islice(items, 1):
                    pending.append(pool.submit(self._guarded, item))
            yield result
        if self._failed.is_set():
            raise RuntimeError("a bundle read was skipped without a failed read to report")

    def __exit__(self, *exc: object) -> None:
        self._failed.set()  # reads not yet started are skipped
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def write_coco(
    project: Project,
    out: IO[bytes],
    *,
    label_hashes: Iterable[str] | None = None,
    label_statuses: Iterable[Any] | None = None,
    workflow_stage: str | None = None,
    object_classes: Iterable[str] | None = None,
    edited_after: datetime.datetime | str | None = None,
    bundle_size: int = DEFAULT_BUNDLE_SIZE,
    edited_before: datetime.datetime | str | None = None,
) -> dict[str, Any]:
    """Write a project's labels as one COCO JSON document to ``out``, streaming.

    Every argument is checked before the first request. Memory stays flat as the project grows: label rows are
    read ``bundle_size`` at a time and written out at once (annotations are spooled to a temporary file until
    the images are written). Nothing is created or changed on the server. The output is complete only when the
    function returns; write to a temporary name and rename it to publish atomically.

    :param project: the project, as returned by ``EncordUserClient.get_project``
    :param out: a binary file object open for writing
    :param label_hashes: export only these label rows
    :param label_statuses: export only rows in these statuses: task statuses (``QUEUED``, ``ASSIGNED``,
        ``IN_REVIEW``, ``RETURNED``, ``COMPLETED``; filtered by the server) or label statuses of manual-QA
        projects (``LABELLED``, ``REVIEWED``, ...; checked per row); names or SDK enum members
    :param workflow_stage: export only rows whose task is in this workflow stage (its title or UUID)
    :param object_classes: export only objects of these ontology classes (names or feature hashes); the
        categories list keeps only these classes, with the same ids as in a full export
    :param edited_after: export only rows edited at or after this time (a datetime, naive meaning UTC, or an
        ISO-8601 string), e.g. a daily DAG's ``data_interval_start``
    :param edited_before: export only rows edited before this time (same forms), e.g. ``data_interval_end``,
        so that consecutive runs export disjoint intervals
    :param bundle_size: label rows per read request, 1 to 1000 (default 500; lower it for label-heavy videos)
    :return: counts: ``images``, ``annotations``, ``categories``, ``annotations_per_category``
        (name -> count), ``label_rows`` (converted), ``label_rows_listed``, ``skipped_unlabelled``,
        ``skipped_filtered``, ``skipped_unsupported_data`` (rows of audio, text, ...),
        ``skipped_unsupported_shapes``, ``skipped_unknown_objects``, ``skipped_invalid_geometry``
        (objects whose coordinates are missing or not numbers), ``skipped_invalid_rows`` (answers that are
        not label rows), ``label_row_requests``
    """
    filters = _Filters(
        label_hashes=label_hashes,
        label_statuses=label_statuses,
        workflow_stage=workflow_stage,
        edited_after=edited_after,
        edited_before=edited_before,
        bundle_size=bundle_size,
    )
    if object_classes is not None and isinstance(object_classes, str):
        object_classes = [object_classes]
    converter = CocoConverter(project.ontology_structure.to_dict(), object_classes=object_classes)
    feature_hashes = converter.feature_hashes if object_classes is not None else None
    # One connection per read under way, not one per read.
    with gc_paused(), Sessions() as sessions:
        return _write(project, out, filters, converter, feature_hashes, sessions)


def _write(
    project: Project,
    out: IO[bytes],
    filters: _Filters,
    converter: CocoConverter,
    feature_hashes: set[str] | None,
    sessions: Sessions,
) -> dict[str, Any]:
    """The body of :func:`write_coco`, its arguments checked."""
    counts = {"skipped_unlabelled": 0, "skipped_filtered": 0, "label_rows_listed": 0, "label_row_requests": 0}
    hashes = _listed_label_hashes(project, filters, counts, sessions)
    info = {
        "description": f"Encord project {project.title}",
        "date_created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "encord_project_hash": str(project.project_hash),
        "encord_ontology_hash": str(project.ontology_hash),
    }
    rows = _label_rows(project, hashes, filters.bundle_size, feature_hashes, counts, sessions)
    with closing(rows), CocoStreamWriter(out, info=info, categories=converter.categories) as writer:
        for row in rows:
            writer.add(*converter.convert_label_row(row))
    result = converter.stats.as_dict()
    result.update(counts)
    result["categories"] = len(converter.categories)
    return result


def export_coco_dict(project: Project, **kwargs: Any) -> dict[str, Any]:
    """The COCO document of a project as a dictionary, for small projects.

    Takes the same keyword arguments as :func:`write_coco` and holds the whole result in memory.

    :param project: the project, as returned by ``EncordUserClient.get_project``
    :return: ``{"info", "categories", "images", "annotations"}``
    """
    buffer = io.BytesIO()
    write_coco(project, buffer, **kwargs)
    return orjson.loads(buffer.getvalue())
