"""REST v2 routes (``/v2/public/...``)."""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from airflow_provider_encord.testing.emulator._labels import ontology_editor
from airflow_provider_encord.testing.emulator._server import ApiError, Context, Router
from airflow_provider_encord.testing.emulator._store import (
    GeneratedImages,
    LabelRow,
    Project,
    Store,
    iso,
    like,
    now,
    parse_time,
    stable_uuid,
    within,
)

router = Router()


# -- helpers ---------------------------------------------------------------------------------------------
def q(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def q_bool(query: dict[str, list[str]], name: str) -> bool | None:
    value = q(query, name)
    return None if value is None else value.lower() == "true"


#: A collection that resumes at a page token itself: ``source(token)`` yields ``(token, item)`` from the item
#: ``token`` names on (the first item for ``None``), each with the token that resumes at that item.
Seekable = Callable[[str | None], Iterator[tuple[str, Any]]]


def page(
    source: Sequence[Any] | Seekable,
    query: dict[str, list[str]],
    ctx: Context,
    dto: Callable[[Any], Any] | None = None,
    default_size: int = 100,
) -> dict:
    """One page: ``pageSize`` items (capped by the emulator's ``max_page_size``) from ``pageToken``.

    For a sequence the token is an offset into it; a :data:`Seekable` source makes its own tokens, so a page
    of a generated collection costs the page, not every item before it. ``dto`` converts the page's items.
    """
    token = q(query, "pageToken")
    try:
        size = max(1, min(int(q(query, "pageSize") or default_size), ctx.max_page_size))
        if callable(source):
            window = list(itertools.islice(source(token), size + 1))
            next_token = window[size][0] if len(window) > size else None
            items = [item for _, item in window[:size]]
        else:
            offset = int(token or 0)
            if offset < 0:
                raise ValueError(f"negative page token {token!r}")
            items = list(source[offset : offset + size])
            next_token = str(offset + size) if len(source) > offset + size else None
    except ValueError as err:
        raise ApiError(400, f"Invalid paging parameter: {err}") from err
    return {"results": [dto(i) for i in items] if dto else items, "nextPageToken": next_token}


def merged(streams: list[Callable[[int], Iterator[tuple[int, Any]]]], key: Callable, desc: bool) -> Seekable:
    """A seekable merge of sorted streams; ``stream(start)`` yields ``(position, item)`` from ``start`` on.

    The token lists where each stream resumes (``"120.3"``), so no stream is read from its beginning again.
    """

    def tagged(number: int, stream: Iterator[tuple[int, Any]]) -> Iterator[tuple[Any, int, int, Any]]:
        return ((key(item), number, position, item) for position, item in stream)

    def source(token: str | None) -> Iterator[tuple[str, Any]]:
        starts = [int(part) for part in token.split(".")] if token else [0] * len(streams)
        if len(starts) != len(streams) or min(starts, default=0) < 0:
            raise ValueError(f"page token {token!r} does not fit this listing")
        heads = [
            tagged(number, stream(start))
            for number, (stream, start) in enumerate(zip(streams, starts, strict=True))
        ]
        positions = list(starts)
        for _, number, position, item in heapq.merge(*heads, reverse=desc):
            positions[number] = position
            yield ".".join(map(str, positions)), item
            positions[number] = position + 1

    return source


def title_filters(
    query: dict[str, list[str]], record: dict[str, Any], desc_names=("descEq", "descLike")
) -> bool:
    """The common listing filters: title/description equal or LIKE, created/edited after (on or after) and
    before (strictly before)."""
    title, description = record["title"], record.get("description") or ""
    checks = [
        (q(query, "titleEq"), lambda v: title == v),
        (q(query, "titleLike"), lambda v: like(v, title)),
        (q(query, desc_names[0]), lambda v: description == v),
        (q(query, desc_names[1]), lambda v: like(v, description)),
    ]
    try:
        if not all(check(value) for value, check in checks if value is not None):
            return False
    except ValueError as err:  # a malformed LIKE pattern
        raise ApiError(400, str(err)) from err
    return within(
        record["created_at"], parse_time(q(query, "createdAfter")), parse_time(q(query, "createdBefore"))
    ) and within(
        record["last_edited_at"], parse_time(q(query, "editedAfter")), parse_time(q(query, "editedBefore"))
    )


def _project(store: Store, project_hash: str) -> Project:
    project = store.projects.get(project_hash)
    if project is None:
        raise ApiError(404, f"Project {project_hash} not found")
    return project


# -- projects --------------------------------------------------------------------------------------------
def project_dto(store: Store, project: Project, user_email: str) -> dict[str, Any]:
    ontology = store.ontologies.get(project.ontology_hash, {})
    dto: dict[str, Any] = {
        "projectHash": project.project_hash,
        "projectType": project.project_type,
        "status": project.status,
        "title": project.title,
        "description": project.description,
        "createdAt": iso(project.created_at),
        "creatorEmail": project.creator_email,
        "lastEditedAt": iso(project.last_edited_at),
        "ontologyHash": project.ontology_hash,
        "editorOntology": ontology.get("editor", {}),
        "userRole": project.users.get(user_email),
    }
    if project.project_type == "workflow":
        dto["workflowManagerUuid"] = stable_uuid("workflow", project.project_hash)
        dto["workflow"] = {
            "stages": [{"stageType": s.stage_type, "uuid": s.uuid, "title": s.title} for s in project.stages]
        }
    return dto


@router.route("GET", "/projects/{p}")
def get_project(ctx: Context, query: dict, body: Any, p: str) -> dict:
    return project_dto(ctx.store, _project(ctx.store, p), ctx.user.email)


@router.route("GET", "/projects")
def list_projects(ctx: Context, query: dict, body: Any) -> dict:
    projects = [project for project in ctx.store.projects.values() if title_filters(query, vars(project))]
    return page(projects, query, ctx, lambda project: project_dto(ctx.store, project, ctx.user.email))


@router.route("GET", "/projects/{p}/users")
def list_project_users(ctx: Context, query: dict, body: Any, p: str) -> dict:
    project = _project(ctx.store, p)
    users = [{"userEmail": email, "userRole": role} for email, role in project.users.items()]
    return page(users, query, ctx)


# -- ontologies ------------------------------------------------------------------------------------------
def ontology_dto(ontology: dict[str, Any]) -> dict[str, Any]:
    return {
        "ontologyUuid": ontology["ontology_hash"],
        "title": ontology["title"],
        "description": ontology["description"],
        "editor": ontology["editor"],
        "createdAt": iso(ontology["created_at"]),
        "lastEditedAt": iso(ontology["last_edited_at"]),
        "userRole": 0,
    }


@router.route("GET", "/ontologies/{o}")
def get_ontology(ctx: Context, query: dict, body: Any, o: str) -> dict:
    ontology = ctx.store.ontologies.get(o)
    if ontology is None:
        raise ApiError(404, f"Ontology {o} not found")
    return ontology_dto(ontology)


@router.route("GET", "/ontologies")
def list_ontologies(ctx: Context, query: dict, body: Any) -> dict:
    found = [o for o in ctx.store.ontologies.values() if title_filters(query, o)]
    return page(found, query, ctx, ontology_dto)


@router.route("POST", "/ontologies")
def create_ontology(ctx: Context, query: dict, body: Any) -> dict:
    body = body or {}
    if not body.get("title"):
        raise ApiError(400, "An ontology needs a title")
    ontology_hash = stable_uuid("ontology", body["title"], now().isoformat())
    created = now()
    ontology = {
        "ontology_hash": ontology_hash,
        "title": body["title"],
        "description": body.get("description") or "",
        "editor": body.get("editor") or ontology_editor(body["title"], [], []),
        "created_at": created,
        "last_edited_at": created,
    }
    ctx.store.ontologies[ontology_hash] = ontology
    return ontology_dto(ontology)


# -- datasets --------------------------------------------------------------------------------------------
def new_folder(
    store: Store, name: str, parent: str | None, description: str = "", metadata: Any = None
) -> dict:
    created = now()
    folder_uuid = stable_uuid("folder", parent or "", name, created.isoformat())
    folder = {
        "uuid": folder_uuid,
        "parent": parent,
        "name": name,
        "description": description or "",
        "client_metadata": metadata,
        "owner": store.owner_email,
        "created_at": created,
        "last_edited_at": created,
        "synced_dataset_hash": None,
    }
    store.folders[folder_uuid] = folder
    return folder


@router.route("POST", "/datasets")
def create_dataset(ctx: Context, query: dict, body: Any) -> dict:
    body = body or {}
    title = body.get("title")
    if not title:
        raise ApiError(400, "A dataset needs a title")
    created = now()
    dataset_hash = stable_uuid("dataset", title, created.isoformat())
    backing = None
    if body.get("createBackingFolder", True):
        backing = new_folder(ctx.store, title, None, f"Backing folder of dataset {title}")["uuid"]
        ctx.store.folders[backing]["synced_dataset_hash"] = dataset_hash
    ctx.store.datasets[dataset_hash] = {
        "dataset_hash": dataset_hash,
        "title": title,
        "description": body.get("description") or "",
        "created_at": created,
        "last_edited_at": created,
        "backing_folder_uuid": backing,
        "data_hashes": [],
    }
    return {"datasetUuid": dataset_hash, "backingFolderUuid": backing}


@router.route("GET", "/datasets/list")
def list_datasets(ctx: Context, query: dict, body: Any) -> dict:
    result = [
        {
            "datasetUuid": d["dataset_hash"],
            "title": d["title"],
            "description": d["description"],
            "createdAt": iso(d["created_at"]),
            "lastEditedAt": iso(d["last_edited_at"]),
            "userRole": "admin",
            "storageLocation": None,
            "backingFolderUuid": d["backing_folder_uuid"],
        }
        for d in ctx.store.datasets.values()
        if title_filters(query, d, ("descriptionEq", "descriptionLike"))
    ]
    return {"result": result}


# -- groups ----------------------------------------------------------------------------------------------
def group_dto(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "groupHash": group["group_hash"],
        "name": group["name"],
        "description": group["description"],
        "createdAt": iso(group["created_at"]),
    }


@router.route("GET", "/user/current-organisation/groups")
def list_groups(ctx: Context, query: dict, body: Any) -> dict:
    return page(ctx.store.groups, query, ctx, group_dto)


# -- storage ---------------------------------------------------------------------------------------------
def folder_dto(store: Store, folder: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": folder["uuid"],
        "parent": folder["parent"],
        "name": folder["name"],
        "description": folder["description"],
        "clientMetadata": folder["client_metadata"],
        "owner": folder["owner"],
        "createdAt": iso(folder["created_at"]),
        "lastEditedAt": iso(folder["last_edited_at"]),
        "userRole": "admin",
        "syncedDatasetHash": folder["synced_dataset_hash"],
        "pathToRoot": [
            {
                "uuid": f["uuid"],
                "parentUuid": f["parent"],
                "name": f["name"],
                "syncedDatasetHash": f["synced_dataset_hash"],
            }
            for f in store.folder_path(folder["uuid"])
        ],
        "folderType": "generic",
    }


def item_dto(item: dict[str, Any]) -> dict[str, Any]:
    dto = {
        "uuid": item["uuid"],
        "parent": item["parent"],
        "itemType": item["item_type"],
        "name": item["name"],
        "description": item["description"],
        "clientMetadata": item["client_metadata"],
        "owner": item["owner"],
        "createdAt": iso(item["created_at"]),
        "lastEditedAt": iso(item["last_edited_at"]),
        "isTombstone": False,
        "isPlaceholder": False,
        "backedDataUnitsCount": item["backed_data_units_count"],
        "storageLocation": item["storage_location"],
        "integrationHash": item["integration_hash"],
        "url": item["url"],
        "signedUrl": None,
        "fileSize": item["file_size"],
        "mimeType": item["mime_type"],
        "duration": item["duration"],
        "fps": item["fps"],
        "height": item["height"],
        "width": item["width"],
        "dicomInstanceUid": None,
        "dicomStudyUid": None,
        "dicomSeriesUid": None,
        "frameCount": item["frame_count"],
        "audioSampleRate": None,
        "audioBitDepth": None,
        "audioCodec": None,
        "audioNumChannels": None,
    }
    return dto


def _folder_filter(query: dict, folder: dict[str, Any]) -> bool:
    search = q(query, "search")
    if search and search.lower() not in folder["name"].lower():
        return False
    synced = q_bool(query, "datasetSynced")
    return synced is None or synced == (folder["synced_dataset_hash"] is not None)


def _sorted_folders(query: dict, folders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    key = "created_at" if q(query, "order") == "createdAt" else "name"
    return sorted(folders, key=lambda f: (f[key], f["uuid"]), reverse=q_bool(query, "desc") is True)


@router.route("POST", "/storage/folders")
def create_folder(ctx: Context, query: dict, body: Any) -> dict:
    body = body or {}
    parent = body.get("parent")
    if parent and parent not in ctx.store.folders:
        raise ApiError(404, f"Parent folder {parent} not found")
    if not body.get("name"):
        raise ApiError(400, "A folder needs a name")
    folder = new_folder(
        ctx.store, body["name"], parent, body.get("description") or "", body.get("clientMetadata")
    )
    return folder_dto(ctx.store, folder)


@router.route("GET", "/storage/folders")
def list_top_folders(ctx: Context, query: dict, body: Any) -> dict:
    folders = [f for f in ctx.store.folders.values() if f["parent"] is None and _folder_filter(query, f)]
    return page(_sorted_folders(query, folders), query, ctx, lambda f: folder_dto(ctx.store, f))


@router.route("GET", "/storage/search/folders")
def search_folders(ctx: Context, query: dict, body: Any) -> dict:
    folders = [f for f in ctx.store.folders.values() if _folder_filter(query, f)]
    return page(_sorted_folders(query, folders), query, ctx, lambda f: folder_dto(ctx.store, f))


@router.route("GET", "/storage/folders/{f}")
def get_folder(ctx: Context, query: dict, body: Any, f: str) -> dict:
    folder = ctx.store.folders.get(f)
    if folder is None:
        raise ApiError(404, f"Folder {f} not found")
    return folder_dto(ctx.store, folder)


@router.route("GET", "/storage/folders/{f}/folders")
def list_subfolders(ctx: Context, query: dict, body: Any, f: str) -> dict:
    if f not in ctx.store.folders:
        raise ApiError(404, f"Folder {f} not found")
    folders = [c for c in ctx.store.folders.values() if c["parent"] == f and _folder_filter(query, c)]
    return page(_sorted_folders(query, folders), query, ctx, lambda c: folder_dto(ctx.store, c))


def _descendants(store: Store, folder_uuid: str) -> set[str]:
    found = {folder_uuid}
    changed = True
    while changed:
        children = {f["uuid"] for f in store.folders.values() if f["parent"] in found}
        changed = not children <= found
        found |= children
    return found


@router.route("GET", "/storage/folders/{f}/items")
def list_items(ctx: Context, query: dict, body: Any, f: str) -> dict:
    if f not in ctx.store.folders:
        raise ApiError(404, f"Folder {f} not found")
    folders = _descendants(ctx.store, f) if q_bool(query, "isRecursive") else {f}
    search = (q(query, "search") or "").lower()
    types = set(query.get("itemTypes") or [])
    order = "created_at" if q(query, "order") == "createdAt" else "name"
    desc = q_bool(query, "desc") is True

    def key(item: dict[str, Any]) -> tuple:
        return item[order], item["uuid"]

    stored = sorted(
        (
            item
            for item in ctx.store.items.values()
            if item["parent"] in folders
            and (not search or search in item["name"].lower())
            and (not types or item["item_type"] in types)
        ),
        key=key,
        reverse=desc,
    )
    streams = [lambda start: ((i, stored[i]) for i in range(start, len(stored)))]
    for images in ctx.store.generated:
        if images.folder_uuid in folders and (not types or "image" in types):
            streams.append(functools.partial(_generated_items, images, search, desc))
    return page(merged(streams, key, desc), query, ctx, item_dto)


def _generated_items(
    images: GeneratedImages, search: str, desc: bool, start: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The storage items of generated images from position ``start``, in name order (see GeneratedImages)."""
    for position in range(start, images.count):
        index = images.count - 1 - position if desc else position
        if not search or search in images.name(index).lower():
            yield position, images.item(index)


# -- workflow --------------------------------------------------------------------------------------------
def _task_dto(ctx: Context, stage_type: str, row: LabelRow) -> dict[str, Any]:
    unit = ctx.store.data_unit(row.data_hash) or {}
    dto: dict[str, Any] = {
        "uuid": row.task_uuid,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.task_updated_at or row.created_at),
        "dataHash": row.data_hash,
        "dataTitle": unit.get("title", ""),
    }
    if stage_type in ("ANNOTATION", "REVIEW"):
        dto["status"] = row.task_status
        dto["assignee"] = row.assignee
    if stage_type == "ANNOTATION":
        dto["labelBranchName"] = "main"
    return dto


def _stage(project: Project, stage_uuid: str):
    stage = project.stage(stage_uuid)
    if stage is None:
        raise ApiError(404, f"Stage {stage_uuid} not found in project {project.project_hash}")
    return stage


@router.route("GET", "/projects/{p}/workflow/stages/{s}/tasks")
def list_tasks(ctx: Context, query: dict, body: Any, p: str, s: str) -> dict:
    project = _project(ctx.store, p)
    stage = _stage(project, s)
    data_hashes = set(query.get("dataHashes") or [])
    dataset_hashes = set(query.get("datasetHashes") or [])
    statuses = set(query.get("statuses") or [])
    emails = set(query.get("userEmails") or [])
    title = (q(query, "dataTitleContains") or "").lower()

    def wanted(row: LabelRow) -> bool:
        if row.stage_uuid != stage.uuid:
            return False
        if data_hashes and row.data_hash not in data_hashes:
            return False
        if statuses and row.task_status not in statuses:
            return False
        if emails and row.assignee not in emails:
            return False
        if dataset_hashes or title:
            unit = ctx.store.data_unit(row.data_hash) or {}
            if dataset_hashes and unit.get("dataset_hash") not in dataset_hashes:
                return False
            if title and title not in unit.get("title", "").lower():
                return False
        return True

    def dto(row: LabelRow) -> dict[str, Any]:
        return _task_dto(ctx, stage.stage_type, row)

    if data_hashes:  # direct lookups instead of a scan (large projects)
        found = [r for r in map(project.rows.get, sorted(data_hashes)) if r is not None and wanted(r)]
        return page(found, query, ctx, dto)

    def tasks(token: str | None) -> Iterator[tuple[str, LabelRow]]:
        return ((str(position), row) for position, row in project.rows.seek(int(token or 0)) if wanted(row))

    return page(tasks, query, ctx, dto)


def _task_in_stage(project: Project, stage_uuid: str, task_uuid: str) -> LabelRow:
    row = next((r for r in project.rows.rows.values() if r.task_uuid == task_uuid), None)
    if row is None:
        row = next((r for r in project.rows if r.task_uuid == task_uuid), None)
    if row is None:
        raise ApiError(404, f"Task {task_uuid} not found in project {project.project_hash}")
    if row.stage_uuid != stage_uuid:
        current = project.stage(row.stage_uuid or "")
        raise ApiError(
            400,
            f"Task {task_uuid} is in stage {current.title if current else row.stage_uuid}, not {stage_uuid}",
        )
    return project.rows.materialise(row.data_hash) or row


def _move(row: LabelRow, destination: str) -> None:
    row.stage_uuid = destination
    row.task_status = "NEW"
    row.assignee = None
    row.task_updated_at = now()


ACTIONS_BY_STAGE = {
    "ANNOTATION": {"SUBMIT", "ASSIGN", "RELEASE"},
    "REVIEW": {"APPROVE", "REJECT", "ASSIGN", "RELEASE"},
}


@router.route("POST", "/projects/{p}/workflow/stages/{s}/actions")
def task_actions(ctx: Context, query: dict, body: Any, p: str, s: str) -> None:
    project = _project(ctx.store, p)
    stage = _stage(project, s)
    actions = body if isinstance(body, list) else [body]
    if len(actions) > 1000:
        raise ApiError(400, "At most 1000 actions a request")
    allowed = ACTIONS_BY_STAGE.get(stage.stage_type, set())
    # Validate everything before changing anything, like a transaction.
    planned = []
    for action in actions:
        name = (action or {}).get("action")
        if name not in allowed:
            raise ApiError(400, f"Action {name!r} is not allowed in stage {stage.title} ({stage.stage_type})")
        planned.append((name, _task_in_stage(project, stage.uuid, str(action.get("taskUuid"))), action))
    for name, row, action in planned:
        if name == "ASSIGN":
            row.assignee, row.task_status = action.get("assignee"), "ASSIGNED"
        elif name == "RELEASE":
            row.assignee, row.task_status = None, "RELEASED"
        else:
            assignee = action.get("assignee") or (row.assignee if action.get("retainAssignee") else None)
            _move(row, stage.routes[name])
            row.assignee = assignee
            if name == "SUBMIT" and row.label_status == "NOT_LABELLED":
                row.label_status = "LABELLED"
        row.task_updated_at = now()
    return None


@router.route("POST", "/projects/{p}/workflow/stages/{s}/move-tasks")
def move_tasks(ctx: Context, query: dict, body: Any, p: str, s: str) -> None:
    project = _project(ctx.store, p)
    stage = _stage(project, s)
    body = body or {}
    destination = _stage(project, str(body.get("destinationStageUuid")))
    task_uuids = [str(t) for t in body.get("taskUuids") or []]
    if len(task_uuids) > 500:
        raise ApiError(400, "At most 500 tasks a request")
    rows = [_task_in_stage(project, stage.uuid, t) for t in task_uuids]
    for row in rows:
        _move(row, destination.uuid)
    return None
