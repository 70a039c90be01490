"""RPC routes (``POST /public`` and ``POST /public/user``), keyed by query type and method."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson

from airflow_provider_encord.testing.emulator._labels import ontology_editor, row_labels, row_metadata
from airflow_provider_encord.testing.emulator._seed import add_item, workflow_stages
from airflow_provider_encord.testing.emulator._server import Context, RpcError, dumps
from airflow_provider_encord.testing.emulator._store import (
    DATA_TYPE_NAMES,
    LabelRow,
    Project,
    RowTable,
    Store,
    like,
    like_regex,
    now,
    parse_time,
    stable_uuid,
    within,
)
from airflow_provider_encord.testing.emulator._v2 import router

rpc = router.rpc_route
OWNER_ROLES = (0, 4)  # ADMIN, TEAM_MANAGER may add users


def _project(ctx: Context, resource_type: str | None, resource_id: str | None) -> Project:
    if resource_type != "project" or not resource_id:
        raise RpcError("INVALID_ARGUMENTS_ERROR", "This call needs a project resource")
    project = ctx.store.projects.get(resource_id)
    if project is None:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Project {resource_id} not found", status=404)
    return project


# -- projects --------------------------------------------------------------------------------------------
def _unlabelled_row(project_hash: str, data_hash: str, stage_uuid: str | None, created: datetime) -> LabelRow:
    return LabelRow(
        data_hash=data_hash,
        label_hash=None,
        task_uuid=stable_uuid("task", project_hash, data_hash),
        created_at=created,
        last_edited_at=created,
        stage_uuid=stage_uuid,
    )


def add_rows_for_data(store: Store, project: Project, data_hashes: Iterable[str]) -> None:
    """Unlabelled rows (first stage) for data units the project does not have yet."""
    first_stage = project.stages[0].uuid if project.stages else None
    for data_hash in data_hashes:
        if project.rows.get(data_hash) is None:
            project.rows.add(_unlabelled_row(project.project_hash, data_hash, first_stage, now()))


def _new_rows(store: Store, project: Project) -> None:
    """The rows of a new project; for a dataset of generated images they are generated too, not stored."""
    first_stage = project.stages[0].uuid if project.stages else None
    created = now()
    images = next(filter(None, map(store.generated_images, project.dataset_hashes)), None)
    if images is not None:
        project.rows = RowTable(
            images.count,
            lambda i: _unlabelled_row(project.project_hash, images.data_hash(i), first_stage, created),
            images.index_of_data,
        )
    for dataset_hash in project.dataset_hashes:
        if images is not None and dataset_hash == images.dataset_hash:
            hashes: Iterable[str] = store.datasets[dataset_hash]["data_hashes"]  # the others are generated
        else:
            hashes = store.dataset_data_hashes(dataset_hash)
        add_rows_for_data(store, project, hashes)


@rpc("project", "POST")
def create_project(ctx: Context, *, payload: Any, user_path: bool, **_: Any) -> str:
    payload = payload or {}
    if not user_path:
        raise RpcError("METHOD_NOT_ALLOWED_ERROR", status=405)
    title = payload.get("title")
    if not title:
        raise RpcError("INVALID_ARGUMENTS_ERROR", "A project needs a title")
    dataset_hashes = list(payload.get("dataset_hashes") or [])
    missing = [h for h in dataset_hashes if h not in ctx.store.datasets]
    if missing:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Datasets not found: {missing}", status=404)
    created = now()
    ontology_hash = payload.get("ontology_hash")
    if ontology_hash and ontology_hash not in ctx.store.ontologies:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Ontology {ontology_hash} not found", status=404)
    if not ontology_hash:
        ontology_hash = stable_uuid("ontology", title, created.isoformat())
        ctx.store.ontologies[ontology_hash] = {
            "ontology_hash": ontology_hash,
            "title": f"{title} ontology",
            "description": "",
            "editor": ontology_editor(title, [], []),
            "created_at": created,
            "last_edited_at": created,
        }
    project_hash = stable_uuid("project", title, created.isoformat())
    project = Project(
        project_hash=project_hash,
        title=title,
        description=payload.get("description") or "",
        ontology_hash=ontology_hash,
        dataset_hashes=dataset_hashes,
        created_at=created,
        last_edited_at=created,
        creator_email=ctx.user.email,
        status="notStarted",
        stages=workflow_stages(project_hash),
        users={ctx.user.email: 0},
    )
    _new_rows(ctx.store, project)
    ctx.store.projects[project_hash] = project
    return project_hash


@rpc("projectusers", "POST")
def add_project_users(ctx: Context, *, resource_type: Any, resource_id: Any, payload: Any, **_: Any) -> list:
    project = _project(ctx, resource_type, resource_id)
    payload = payload or {}
    if project.users.get(ctx.user.email) not in OWNER_ROLES:
        raise RpcError("AUTHORISATION_ERROR", status=403)
    role = payload.get("user_role")
    if not isinstance(role, int) or not 0 <= role <= 5:
        raise RpcError("INVALID_ARGUMENTS_ERROR", f"Unknown user role {role!r}")
    added = []
    for email in payload.get("user_emails") or []:
        # A user already on the project keeps the role it has.
        project.users.setdefault(email, role)
        added.append(
            {"user_email": email, "user_role": project.users[email], "project_hash": project.project_hash}
        )
    return added


# -- label rows ------------------------------------------------------------------------------------------
def _row_filter(store: Store, project: Project, payload: dict[str, Any]) -> Callable[[LabelRow], bool]:
    """The ``labelrowmetadata`` filters of ``payload`` as a test of one row, parsed once per request."""
    label_hashes = set(payload["label_hashes"]) if payload.get("label_hashes") is not None else None
    data_hashes = set(payload["data_hashes"]) if payload.get("data_hashes") is not None else None
    uninitialised = bool(payload.get("include_uninitialised_labels"))
    statuses = payload.get("label_statuses")
    edited_after = parse_time(payload.get("edited_after"))
    edited_before = parse_time(payload.get("edited_before"))
    stage_eq = payload.get("workflow_graph_node_title_eq")
    stage_like = payload.get("workflow_graph_node_title_like")
    title_eq = payload.get("data_title_eq")
    title_like = payload.get("data_title_like")
    try:  # a malformed LIKE pattern fails the request, not a row
        for pattern in (stage_like, title_like):
            if pattern is not None:
                like_regex(pattern)
    except ValueError as err:
        raise RpcError("INVALID_ARGUMENTS_ERROR", str(err)) from err

    def matches(row: LabelRow) -> bool:
        if label_hashes is not None and row.label_hash not in label_hashes:
            return False
        if data_hashes is not None and row.data_hash not in data_hashes:
            return False
        if not uninitialised and row.label_hash is None:
            return False
        if statuses is not None and row.annotation_task_status not in statuses:
            return False
        if not within(row.edited_at, edited_after, edited_before):
            return False
        if stage_eq is not None or stage_like is not None:
            stage = project.stage(row.stage_uuid or "")
            title = stage.title if stage else ""
            if (stage_eq is not None and title != stage_eq) or (
                stage_like is not None and not like(stage_like, title)
            ):
                return False
        if title_eq is not None or title_like is not None:
            title = (store.data_unit(row.data_hash) or {}).get("title", "")
            if (title_eq is not None and title != title_eq) or (
                title_like is not None and not like(title_like, title)
            ):
                return False
        return True

    return matches


@rpc("labelrowmetadata", "GET")
def list_label_rows(ctx: Context, *, resource_type: Any, resource_id: Any, payload: Any, **_: Any) -> list:
    project = _project(ctx, resource_type, resource_id)
    payload = payload or {}
    if payload.get("data_hashes") is not None:
        rows = (project.rows.get(h) for h in payload["data_hashes"])
        candidates = [r for r in rows if r is not None]
    else:
        candidates = project.rows
    matches = _row_filter(ctx.store, project, payload)
    return [_listed(ctx.store, project, row) for row in candidates if matches(row)]


def _listed(store: Store, project: Project, row: LabelRow) -> Any:
    """A row's listing entry; for a generated row no request has changed, kept encoded after its first use.

    Generated (scale seed) rows are made afresh for every request, and so would be their listing entries:
    at 100 000 rows that is most of the emulator's time in a listing, which a client then spends waiting.
    """
    table = project.rows
    if table.factory is None or row.data_hash in table.rows:  # a stored row: it may change at any time
        return row_metadata(store, project, row)
    entry = project.listing_cache.get(row.data_hash)
    if entry is None:
        entry = orjson.Fragment(dumps(row_metadata(store, project, row)))
        project.listing_cache[row.data_hash] = entry
    return entry


LABEL_ROW_LIMIT = 1000


@rpc("labelrow", "GET")
def get_label_rows(ctx: Context, *, resource_type: Any, resource_id: Any, uid: Any, **_: Any) -> Any:
    project = _project(ctx, resource_type, resource_id)
    uids = uid if isinstance(uid, list) else [uid]
    if len(uids) > LABEL_ROW_LIMIT:
        raise RpcError("MULTI_LABEL_LIMIT_ERROR", {"maximum_labels_allowed": LABEL_ROW_LIMIT})
    answers = []
    for label_hash in uids:
        row = project.rows.by_label_hash(str(label_hash))
        if row is None:
            raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Label row {label_hash} not found", status=404)
        answers.append(row_labels(ctx.store, project, row))
    return answers if isinstance(uid, list) else answers[0]


@rpc("labelrow", "PUT")
def create_label_rows(ctx: Context, *, resource_type: Any, resource_id: Any, uid: Any, **_: Any) -> Any:
    """Creates label rows for unlabelled data units (what ``initialise_labels`` does for them)."""
    project = _project(ctx, resource_type, resource_id)
    uids = uid if isinstance(uid, list) else [uid]
    ctx.store.label_row_writes.append((project.project_hash, "PUT", list(uids)))
    answers = []
    for data_hash in uids:
        row = project.rows.materialise(str(data_hash))
        if row is None:
            raise RpcError(
                "RESOURCE_NOT_FOUND_ERROR", f"Data unit {data_hash} not in the project", status=404
            )
        if row.label_hash is None:
            row.label_hash = stable_uuid("label", project.project_hash, data_hash)
            row.created_at = row.last_edited_at = now()
            row.labels = {}
            project.rows.reindex(row)
        answers.append(row_labels(ctx.store, project, row))
    return answers if isinstance(uid, list) else answers[0]


@rpc("labelrow", "POST")
def save_label_rows(
    ctx: Context, *, resource_type: Any, resource_id: Any, uid: Any, payload: Any, **_: Any
) -> bool:
    """Saves label rows written in Encord's label JSON.

    Two forms, as the service accepts them: one label hash with the label row as the payload
    (``save_label_row``), or a list of label hashes with ``{"multi_request": true, "labels": [...]}``
    (``save_label_rows``, what ``LabelRowV2.save()`` sends, in bundles too).
    """
    project = _project(ctx, resource_type, resource_id)
    ctx.store.label_row_writes.append((project.project_hash, "POST", uid))
    if isinstance(uid, list):
        labels = (payload or {}).get("labels") if isinstance(payload, dict) else None
        if not isinstance(labels, list) or len(labels) != len(uid):
            raise RpcError(
                "INVALID_ARGUMENTS_ERROR", "A multi-row save needs one entry in payload.labels per uid"
            )
        pairs = list(zip(uid, labels, strict=True))
    else:
        pairs = [(uid, payload)]
    rows = []
    for label_hash, label in pairs:
        row = project.rows.by_label_hash(str(label_hash))
        if row is None or not isinstance(label, dict):
            raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Label row {label_hash} not found", status=404)
        rows.append((row, label))
    for row, label in rows:  # all found: save them together
        _save_labels(project, row, label)
    return True


def _save_labels(project: Project, row: LabelRow, label: dict[str, Any]) -> None:
    row = project.rows.materialise(row.data_hash) or row
    unit = next(iter((label.get("data_units") or {}).values()), {})
    labels = unit.get("labels") or {}
    row.labels = {
        "objects": labels.get("objects", []),
        "classifications": labels.get("classifications", []),
        "object_answers": label.get("object_answers") or {},
        "classification_answers": label.get("classification_answers") or {},
    }
    row.last_edited_at = now()
    if row.label_status == "NOT_LABELLED":
        row.label_status = "LABEL_IN_PROGRESS"


# -- datasets --------------------------------------------------------------------------------------------
def _dataset(ctx: Context, resource_type: Any, resource_id: Any) -> dict[str, Any]:
    if resource_type != "dataset" or not resource_id:
        raise RpcError("INVALID_ARGUMENTS_ERROR", "This call needs a dataset resource")
    dataset = ctx.store.datasets.get(resource_id)
    if dataset is None:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Dataset {resource_id} not found", status=404)
    return dataset


#: ``StorageLocation`` values (``encord.orm.dataset``) of the storage items' ``storage_location`` names
STORAGE_LOCATIONS = {"encord": 0, "s3": 1, "gcp": 2, "azure": 3, "s3Compatible": 4, "openTelekom": 4}
RPC_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _data_row(store: Store, data_hash: str) -> dict[str, Any]:
    """One ``data_rows`` entry of the RPC ``dataset`` answer (``DataRow.from_dict``), from the data unit and
    the storage item behind it."""
    unit = store.data_unit(data_hash) or {}
    item = store.item(unit.get("backing_item_uuid") or "") or {}
    metadata = item.get("client_metadata")
    return {
        "data_hash": data_hash,
        "data_title": unit.get("title"),
        "data_type": DATA_TYPE_NAMES[unit.get("data_type", "image")],
        "created_at": unit["created_at"].strftime(RPC_TIME_FORMAT),
        "last_edited_at": item.get("last_edited_at", unit["created_at"]).strftime(RPC_TIME_FORMAT),
        "width": unit.get("width"),
        "height": unit.get("height"),
        "file_link": unit.get("url"),
        "file_size": item.get("file_size"),
        "file_type": unit.get("file_type"),
        "storage_location": STORAGE_LOCATIONS.get(item.get("storage_location"), 0),
        "client_metadata": json.loads(metadata) if metadata else {},
        "frames_per_second": item.get("fps"),
        "duration": item.get("duration"),
        "images_data": None,
        "signed_url": None,
        "is_optimised_image_group": None,
        "backing_item_uuid": unit.get("backing_item_uuid"),
    }


@rpc("dataset", "GET")
def get_dataset(ctx: Context, *, resource_type: Any, resource_id: Any, payload: Any, **_: Any) -> dict:
    dataset = _dataset(ctx, resource_type, resource_id)
    settings = (payload or {}).get("dataset_access_settings") or {}
    fetch_rows = settings.get("fetch_rows", True)
    return {
        "dataset_hash": dataset["dataset_hash"],
        "title": dataset["title"],
        "description": dataset["description"],
        "dataset_type": "CORD_STORAGE",
        "backing_folder_uuid": dataset["backing_folder_uuid"],
        "data_rows": [_data_row(ctx.store, h) for h in ctx.store.dataset_data_hashes(dataset["dataset_hash"])]
        if fetch_rows
        else [],
    }


# -- uploads ---------------------------------------------------------------------------------------------
UPLOAD_KINDS = {
    "images": ("image", "image/jpeg"),
    "videos": ("video", "video/mp4"),
    "image_groups": ("imageGroup", None),
    "dicom_series": ("dicomSeries", None),
    "audio": ("audio", "audio/mpeg"),
    "text": ("plainText", "text/plain"),
    "pdf": ("pdf", "application/pdf"),
    "nifti": ("nifti", None),
}
URL_SCHEMES = ("s3://", "gs://", "https://", "http://", "azure://")


@rpc("datasetdatalongpolling", "POST")
def start_upload(ctx: Context, *, resource_type: Any, resource_id: Any, payload: Any, **_: Any) -> dict:
    dataset = _dataset(ctx, resource_type, resource_id)
    payload = payload or {}
    integration = str(payload.get("integrationId") or "")
    if integration not in ctx.store.integrations:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Integration {integration} not found", status=404)
    folder = payload.get("folderUuid") or dataset["backing_folder_uuid"]
    if folder and folder not in ctx.store.folders:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", f"Folder {folder} not found", status=404)
    files = payload.get("files")
    if not isinstance(files, dict):
        raise RpcError("INVALID_ARGUMENTS_ERROR", "files must be an object of registration lists")
    units = []
    for kind, (item_type, mime) in UPLOAD_KINDS.items():
        for entry in files.get(kind) or []:
            url = entry.get("objectUrl") or next(iter(entry.get("imageUrls") or []), None) or ""
            units.append({"kind": kind, "item_type": item_type, "mime": mime, "entry": entry, "url": url})
    if not units:
        raise RpcError("INVALID_ARGUMENTS_ERROR", "No files to register")
    process_hash = stable_uuid("upload", resource_id, now().isoformat(), len(ctx.store.upload_jobs))
    ctx.store.upload_jobs[process_hash] = {
        "process_hash": process_hash,
        "dataset_hash": dataset["dataset_hash"],
        "integration": integration,
        "folder": folder,
        "units": units,
        "ignore_errors": bool(payload.get("ignoreErrors")),
        "skip_duplicates": bool(files.get("skip_duplicate_urls")),
        "polls_left": ctx.upload_polls,
        "polls": 0,
        "result": None,
    }
    return {"process_hash": process_hash}


def _finish_upload(ctx: Context, job: dict[str, Any]) -> dict[str, Any]:
    store = ctx.store
    dataset = store.datasets[job["dataset_hash"]]
    known_urls = {(store.data_unit(h) or {}).get("url") for h in dataset["data_hashes"]}
    generated = store.generated_images(dataset["dataset_hash"])
    done, errors, unit_errors = [], [], []
    for unit in job["units"]:
        url = unit["url"]
        if not url.startswith(URL_SCHEMES):
            message = f"Invalid object URL {url!r}: expected one of {', '.join(URL_SCHEMES)}"
            errors.append(message)
            unit_errors.append(
                {
                    "objectUrls": [url],
                    "error": message,
                    "subtaskUuid": stable_uuid("subtask", job["process_hash"], url),
                    "actionDescription": "Registering the file",
                }
            )
            continue
        if job["skip_duplicates"] and (
            url in known_urls or (generated is not None and generated.index_of_url(url) is not None)
        ):
            continue
        title = unit["entry"].get("title") or posixpath.basename(url.rstrip("/")) or url
        data_hash = stable_uuid("data", dataset["dataset_hash"], url, job["process_hash"])
        item = add_item(
            store,
            job["folder"] or dataset["backing_folder_uuid"] or "",
            title,
            unit["item_type"],
            now(),
            uuid=stable_uuid("item", job["process_hash"], url),
            url=url,
            mime_type=unit["mime"],
            integration_hash=job["integration"],
            storage_location=store.integrations[job["integration"]]["provider"],
            backed_data_units_count=1,
            client_metadata=_metadata_text(unit["entry"].get("clientMetadata")),
        )
        store.data[data_hash] = {
            "data_hash": data_hash,
            "title": title,
            "dataset_hash": dataset["dataset_hash"],
            "data_type": unit["item_type"],
            "file_type": unit["mime"],
            "url": url,
            "width": None,
            "height": None,
            "backing_item_uuid": item["uuid"],
            "created_at": now(),
        }
        dataset["data_hashes"].append(data_hash)
        known_urls.add(url)
        done.append({"data_hash": data_hash, "title": title, "backing_item_uuid": item["uuid"]})
    new_hashes = [d["data_hash"] for d in done]
    for project in store.projects.values():
        if dataset["dataset_hash"] in project.dataset_hashes:
            add_rows_for_data(store, project, new_hashes)
    failed = bool(errors) and not job["ignore_errors"]
    return {
        "status": "ERROR" if failed else "DONE",
        "data_hashes_with_titles": done,
        "errors": errors,
        "data_unit_errors": unit_errors,
        "units_pending_count": 0,
        "units_done_count": len(done),
        "units_error_count": len(errors),
        "units_cancelled_count": 0,
    }


def _metadata_text(value: Any) -> str:
    """``clientMetadata`` of an upload entry as the JSON text a storage item holds."""
    return value if isinstance(value, str) else json.dumps(value or {})


@rpc("datasetdatalongpolling", "GET")
def upload_result(ctx: Context, *, resource_type: Any, resource_id: Any, payload: Any, **_: Any) -> dict:
    _dataset(ctx, resource_type, resource_id)
    job = ctx.store.upload_jobs.get(str((payload or {}).get("process_hash")))
    if job is None or job["dataset_hash"] != resource_id:
        raise RpcError("RESOURCE_NOT_FOUND_ERROR", "Upload job not found", status=404)
    job["polls"] += 1
    if job["result"] is None:
        if job["polls_left"] > 0:
            job["polls_left"] -= 1
            return {
                "status": "PENDING",
                "data_hashes_with_titles": [],
                "errors": [],
                "data_unit_errors": [],
                "units_pending_count": len(job["units"]),
                "units_done_count": 0,
                "units_error_count": 0,
                "units_cancelled_count": 0,
            }
        job["result"] = _finish_upload(ctx, job)
    return job["result"]
