"""In-memory state of the emulator: plain dictionaries guarded by one re-entrant lock."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

#: Namespace of every identifier the seeds derive from a name, so that they are stable across runs.
EMULATOR_NAMESPACE = uuid.UUID("6f1c1d0e-8a57-4c38-9a43-1a5f3f8b2e10")
#: The instant the seeds pretend they were created at.
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def stable_uuid(*parts: object) -> str:
    """A UUID string derived from ``parts``: the same parts always give the same UUID."""
    return str(uuid.uuid5(EMULATOR_NAMESPACE, "/".join(str(p) for p in parts)))


def stable_hex(*parts: object, length: int = 8) -> str:
    """A short hexadecimal identifier (Encord feature and object hashes are 8 characters)."""
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()[:length]


def seed_time(minutes: float = 0) -> datetime:
    """A seed timestamp ``minutes`` after the seed epoch."""
    return SEED_EPOCH + timedelta(minutes=minutes)


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: datetime) -> str:
    return value.isoformat()


def parse_time(value: str | None) -> datetime | None:
    """Parse the ISO-8601 (or ``YYYY-MM-DD HH:MM:SS``) strings the SDK sends in filters."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def like(pattern: str, value: str) -> bool:
    """SQL ``LIKE`` (``%`` any run, ``_`` one character), case-insensitive like Postgres ``ILIKE``."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


@dataclass
class User:
    email: str
    public_key_hex: str | None = None
    bearer_token: str | None = None


@dataclass
class Stage:
    uuid: str
    title: str
    stage_type: str  # ANNOTATION, REVIEW, DONE
    #: where each action sends a task: {"SUBMIT": uuid, "APPROVE": uuid, "REJECT": uuid}
    routes: dict[str, str] = field(default_factory=dict)


@dataclass
class LabelRow:
    """One data unit of a project with its (optional) label."""

    data_hash: str
    label_hash: str | None
    task_uuid: str
    created_at: datetime
    last_edited_at: datetime
    #: manual-QA status (``LabelStatus``) and task status (``orm.label_row.AnnotationTaskStatus``)
    label_status: str = "NOT_LABELLED"
    annotation_task_status: str = "QUEUED"
    #: workflow stage of the row's task (workflow projects only)
    stage_uuid: str | None = None
    task_status: str = "NEW"
    assignee: str | None = None
    task_updated_at: datetime | None = None
    #: ``{"objects", "classifications", "object_answers", "classification_answers"}`` of the image
    labels: dict[str, Any] | None = None


class RowTable:
    """Label rows of one project, in data order.

    Rows are either materialised (a dict) or produced on demand by ``factory(index)`` for ``lazy_count``
    generated rows; a generated row is materialised only when it changes.
    """

    def __init__(
        self,
        lazy_count: int = 0,
        factory: Callable[[int], LabelRow] | None = None,
        index_of: Callable[[str], int | None] | None = None,
        index_of_label: Callable[[str], int | None] | None = None,
    ) -> None:
        self.rows: dict[str, LabelRow] = {}
        self.lazy_count = lazy_count
        self.factory = factory
        self.index_of = index_of
        self.index_of_label = index_of_label
        self._label_index: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.rows) + self.lazy_count

    def add(self, row: LabelRow) -> None:
        self.rows[row.data_hash] = row
        if row.label_hash:
            self._label_index[row.label_hash] = row.data_hash

    def reindex(self, row: LabelRow) -> None:
        if row.label_hash:
            self._label_index[row.label_hash] = row.data_hash

    def get(self, data_hash: str) -> LabelRow | None:
        row = self.rows.get(data_hash)
        if row is None and self.factory is not None and self.index_of is not None:
            index = self.index_of(data_hash)
            if index is not None and 0 <= index < self.lazy_count:
                row = self.factory(index)
        return row

    def materialise(self, data_hash: str) -> LabelRow | None:
        """The row, stored so that changes to it persist."""
        row = self.get(data_hash)
        if row is not None and data_hash not in self.rows:
            self.add(row)
        return row

    def by_label_hash(self, label_hash: str) -> LabelRow | None:
        data_hash = self._label_index.get(label_hash)
        if data_hash is not None:
            return self.rows.get(data_hash)
        if self.factory is not None and self.index_of_label is not None:
            index = self.index_of_label(label_hash)
            if index is not None and 0 <= index < self.lazy_count:
                row = self.factory(index)
                return self.rows.get(row.data_hash, row)
        return None

    def __iter__(self) -> Iterator[LabelRow]:
        if self.factory is None or self.index_of is None:
            yield from list(self.rows.values())
            return
        for index in range(self.lazy_count):
            row = self.factory(index)
            yield self.rows.get(row.data_hash, row)
        for row in list(self.rows.values()):
            if self.index_of(row.data_hash) is None:
                yield row


@dataclass
class Project:
    project_hash: str
    title: str
    description: str
    ontology_hash: str
    dataset_hashes: list[str]
    created_at: datetime
    last_edited_at: datetime
    creator_email: str
    project_type: str = "workflow"  # or "manual_qa"
    status: str = "inProgress"
    stages: list[Stage] = field(default_factory=list)
    users: dict[str, int] = field(default_factory=dict)  # email -> ProjectUserRole value
    rows: RowTable = field(default_factory=RowTable)
    #: builds the labels of a generated row that holds none (scale seed)
    lazy_labels: Callable[[LabelRow], dict[str, Any]] | None = None

    def stage(self, stage_uuid: str) -> Stage | None:
        return next((s for s in self.stages if s.uuid == stage_uuid), None)


class Store:
    """Everything the emulator knows. Hold ``store.lock`` while reading or changing it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.owner_email = "owner@example.com"
        self.ontologies: dict[str, dict[str, Any]] = {}
        self.datasets: dict[str, dict[str, Any]] = {}
        #: data units: data_hash -> dict (title, dataset_hash, width, height, ...)
        self.data: dict[str, dict[str, Any]] = {}
        #: lazily generated data units: (prefix test, factory)
        self.lazy_data: list[Callable[[str], dict[str, Any] | None]] = []
        self.projects: dict[str, Project] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.groups: list[dict[str, Any]] = []
        self.integrations: dict[str, dict[str, Any]] = {}
        self.upload_jobs: dict[str, dict[str, Any]] = {}
        #: label rows the SDK wrote through RPC ``labelrow`` PUT/POST: (project_hash, uids)
        self.label_row_writes: list[tuple[str, Any]] = []

    # -- lookups ---------------------------------------------------------------------------------------
    def user_by_key(self, public_key_hex: str) -> User | None:
        return next((u for u in self.users.values() if u.public_key_hex == public_key_hex), None)

    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if u.bearer_token and u.bearer_token == token), None)

    def data_unit(self, data_hash: str) -> dict[str, Any] | None:
        unit = self.data.get(data_hash)
        if unit is None:
            for factory in self.lazy_data:
                unit = factory(data_hash)
                if unit is not None:
                    break
        return unit

    def folder_path(self, folder_uuid: str) -> list[dict[str, Any]]:
        """``path_to_root`` of a folder: itself first, then its ancestors."""
        path = []
        current = self.folders.get(folder_uuid)
        while current is not None:
            path.append(current)
            current = self.folders.get(current["parent"]) if current["parent"] else None
        return path
