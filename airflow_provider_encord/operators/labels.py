"""Operators for Encord labels: list label rows, export a project's labels as a COCO file."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_encord._defaults import DEFAULT_BUNDLE_SIZE
from airflow_provider_encord.hooks.inputs import validate_datetime, validate_statuses, validate_uuid
from airflow_provider_encord.links.encord import EncordProjectLink
from airflow_provider_encord.operators.base import (
    EncordBaseOperator,
    check_static,
    is_templated,
    optional_str,
    optional_str_list,
    require_str,
    str_list,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.providers.common.compat.sdk import Asset, Context

#: Object stores that publish an object only once its upload is complete: one upload is already atomic.
SINGLE_PUT_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "wasb", "wasbs"})
#: Bytes copied per write when uploading to object storage (every write costs a call).
UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024


def _statuses(value: Any, name: str = "label_statuses") -> list[str] | None:
    """Status names from a list, one name, or a list rendered as text (None: no filter)."""
    if isinstance(value, str) and value.strip().startswith(("[", "(")):
        value = str_list(value, name)
    return validate_statuses(value or None, name)


def _local_path(output_path: str) -> Path | None:
    """The local file a plain path names; None for a URI (``file://`` too): object storage handles those."""
    return None if "://" in output_path else Path(output_path).expanduser()


def write_local_atomically(path: Path, write: Callable[[IO[bytes]], Any]) -> Any:
    """
    Write a local file so that readers only ever see the old or the complete new file.

    ``write`` fills a temporary file in the same directory, which then replaces ``path`` in one rename.

    :return: What ``write`` returned.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            result = write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def write_object_atomically(uri: str, write: Callable[[IO[bytes]], Any]) -> Any:
    """
    Write an object through Airflow's object storage so that readers never see a partial object.

    ``write`` fills a local temporary file, which is then uploaded in large chunks: straight to ``uri`` on
    object stores that publish an object only when its upload completes (S3, GCS, Azure), else to a
    temporary sibling that is renamed to ``uri``.

    :return: What ``write`` returned.
    """
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    dest = ObjectStoragePath(uri)
    with tempfile.TemporaryFile(prefix="encord-coco-") as local:
        result = write(local)
        local.flush()
        local.seek(0)
        if dest.protocol in SINGLE_PUT_SCHEMES:
            with dest.open("wb") as out:
                shutil.copyfileobj(local, out, UPLOAD_CHUNK_SIZE)
            return result
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
        try:
            with tmp.open("wb") as out:
                shutil.copyfileobj(local, out, UPLOAD_CHUNK_SIZE)
            tmp.rename(dest)
        except BaseException:
            try:
                if tmp.exists():
                    tmp.unlink()
            except Exception:  # best effort: the original error matters more
                pass
            raise
    return result


def _as_asset(asset: Any, output_path: Any) -> Asset | None:
    """Turn the ``asset`` argument into an Asset (``True``: derived from a fixed ``output_path``)."""
    if asset is None or asset is False:
        return None
    from airflow.providers.common.compat.sdk import Asset

    if asset is True:
        if is_templated(output_path):
            raise ValueError(
                f"asset=True needs a fixed output_path, got the template {output_path!r}; pass the asset URI "
                "instead, e.g. asset='s3://bucket/exports/latest.json', or a fixed output_path."
            )
        local = _local_path(output_path)
        uri = local.absolute().as_uri() if local is not None else output_path
        return Asset(uri)
    if isinstance(asset, str):
        return Asset(require_str(asset, "asset"))
    if isinstance(asset, Asset):
        return asset
    raise ValueError(f"asset must be True, an asset URI or an Asset, got {type(asset).__name__}.")


def _with_outlet(outlets: Any, asset: Asset) -> list[Any]:
    """``outlets`` (one outlet, a list, a tuple or None) as a flat list that ends with ``asset``."""
    if outlets is None:
        listed: list[Any] = []
    elif isinstance(outlets, (list, tuple, set, frozenset)):
        listed = list(outlets)
    else:
        listed = [outlets]
    return listed if asset in listed else [*listed, asset]


class ExportCocoOperator(EncordBaseOperator):
    """
    Export an Encord project's labels to one COCO JSON file.

    The file is streamed to disk (never held in memory whole) and written atomically: for a local path to a
    temporary file next to it, then renamed; for a URI to a local temporary file, then uploaded in large
    chunks, straight to the object on S3, GCS or Azure (which publish an object only once it is complete),
    else to a temporary sibling renamed into place. Readers never see half a file, and a re-run replaces the
    file. Nothing on the Encord side is created or changed.

    The XCom result holds the path and the counts, never the labels. With ``asset`` the task declares the
    file as an Airflow Asset, so a DAG scheduled on that asset (a training DAG) runs after each new export;
    the asset event's ``extra`` carries the project hash, the path and the counts.

    :param project_hash: The project to export (templated).
    :param output_path: Where to write (templated): a local path or any URI Airflow's object storage handles,
        e.g. ``file:///data/coco.json``, ``s3://bucket/exports/{{ run_id }}.json``, ``gs://...``.
    :param label_hashes: Only these label rows (templated).
    :param label_statuses: Only label rows with one of these statuses (templated): ``LabelStatus`` names
        (``LABELLED``, ``REVIEWED``, ...) or ``AnnotationTaskStatus`` names (``QUEUED``, ..., ``COMPLETED``).
    :param workflow_stage: Only tasks in this workflow stage, by UUID or title (templated).
    :param object_classes: Only objects of these ontology classes, by name (templated).
    :param edited_after: Only labels edited at or after this time: a datetime or ISO-8601 text (templated),
        e.g. ``"{{ dag_run.data_interval_start | ts if dag_run.data_interval_start else '' }}"`` (an empty
        value means no bound: runs triggered without a logical date have no data interval).
    :param edited_before: Only labels edited before this time (templated), e.g. the same with
        ``data_interval_end``, so that each run exports its own interval and a late re-run exports the same
        rows.
    :param bundle_size: Label rows fetched per request, 1-1000, default 500 (lower it for label-heavy
        videos, whose rows can be megabytes each).
    :param asset: Declare the output as an Airflow Asset: ``True`` (the asset URI is the fixed
        ``output_path``), an asset URI string, or an ``Asset``.
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"path", "images", "annotations", "categories", ...counts}``.
    """

    template_fields: Sequence[str] = (
        "encord_conn_id",
        "project_hash",
        "output_path",
        "label_hashes",
        "label_statuses",
        "workflow_stage",
        "object_classes",
        "edited_after",
        "edited_before",
    )
    operator_extra_links = (EncordProjectLink(),)

    def __init__(
        self,
        *,
        project_hash: str,
        output_path: str,
        label_hashes: list[str] | str | None = None,
        label_statuses: list[str] | str | None = None,
        workflow_stage: str | None = None,
        object_classes: list[str] | str | None = None,
        edited_after: Any = None,
        edited_before: Any = None,
        bundle_size: int = DEFAULT_BUNDLE_SIZE,
        asset: Asset | str | bool | None = None,
        **kwargs: Any,
    ) -> None:
        self.asset = _as_asset(asset, output_path)
        if self.asset is not None:
            kwargs["outlets"] = _with_outlet(kwargs.pop("outlets", None), self.asset)
        super().__init__(**kwargs)
        check_static(project_hash, validate_uuid, "project_hash")
        check_static(output_path, require_str, "output_path")
        check_static(label_hashes, optional_str_list, "label_hashes")
        check_static(label_statuses, _statuses)
        check_static(object_classes, optional_str_list, "object_classes")
        check_static(edited_after, validate_datetime, "edited_after")
        check_static(edited_before, validate_datetime, "edited_before")
        if isinstance(bundle_size, bool) or not isinstance(bundle_size, int) or not 1 <= bundle_size <= 1000:
            raise ValueError(
                f"Invalid bundle_size={bundle_size!r}: expected a whole number from 1 to 1000 "
                "(Encord's limit); "
                "start near 20 for label-heavy videos."
            )
        self.project_hash = project_hash
        self.output_path = output_path
        self.label_hashes = label_hashes
        self.label_statuses = label_statuses
        self.workflow_stage = workflow_stage
        self.object_classes = object_classes
        self.edited_after = edited_after
        self.edited_before = edited_before
        self.bundle_size = bundle_size

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
            output_path = require_str(str(self.output_path) if self.output_path else None, "output_path")
            filters = {
                "label_hashes": optional_str_list(self.label_hashes, "label_hashes"),
                "label_statuses": _statuses(self.label_statuses),
                "workflow_stage": optional_str(self.workflow_stage, "workflow_stage"),
                "object_classes": optional_str_list(self.object_classes, "object_classes"),
                "edited_after": validate_datetime(self.edited_after or None, "edited_after"),
                "edited_before": validate_datetime(self.edited_before or None, "edited_before"),
            }
        self.persist_links(context, project_hash=project_hash)

        def export(fileobj: IO[bytes]) -> dict[str, Any]:
            return self.hook.export_coco_to_file(
                project_hash, fileobj, bundle_size=self.bundle_size, **filters
            )

        local = _local_path(output_path)
        self.log.info("Exporting the labels of project %s as COCO to %s", project_hash, output_path)
        if local is not None:
            stats = write_local_atomically(local, export)
            path = str(local.absolute())
        else:
            stats = write_object_atomically(output_path, export)
            path = output_path
        result: dict[str, Any] = {"path": path}
        for key, value in stats.items():
            is_count = isinstance(value, (int, float)) and not isinstance(value, bool)
            if is_count or (key == "annotations_per_category" and isinstance(value, dict)):
                result[key] = value
        self.log.info(
            "Wrote %s: %s images, %s annotations, %s categories",
            path,
            result.get("images"),
            result.get("annotations"),
            result.get("categories"),
        )
        self._record_asset_event(context, project_hash, result)
        return result

    def _record_asset_event(self, context: Context, project_hash: str, result: dict[str, Any]) -> None:
        """Put the checked project hash, the path and the counts in the ``extra`` of the asset event."""
        if self.asset is None or not context:
            return
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        counts = {k: v for k, v in result.items() if k != "annotations_per_category"}
        outlet_events[self.asset].extra = {"project_hash": project_hash, **counts}


class ListLabelRowsOperator(EncordBaseOperator):
    """
    List the label rows of an Encord project (metadata only, no labels).

    :param project_hash: The project hash (templated).
    :param data_title_like: Only data whose title contains this text (templated).
    :param label_statuses: Only rows with one of these annotation task statuses (templated).
    :param workflow_stage: Only tasks in this workflow stage, by UUID or title (templated).
    :param edited_after: Only rows edited after this time, a datetime or ISO-8601 text (templated).
    :param edited_before: Only rows edited before this time, a datetime or ISO-8601 text (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"label_rows": [{"label_hash", "data_hash", "data_title", "label_status", ...}]}``.
    """

    template_fields: Sequence[str] = (
        "encord_conn_id",
        "project_hash",
        "data_title_like",
        "label_statuses",
        "workflow_stage",
        "edited_after",
        "edited_before",
    )
    operator_extra_links = (EncordProjectLink(),)

    def __init__(
        self,
        *,
        project_hash: str,
        data_title_like: str | None = None,
        label_statuses: list[str] | str | None = None,
        workflow_stage: str | None = None,
        edited_after: Any = None,
        edited_before: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_static(project_hash, validate_uuid, "project_hash")
        check_static(label_statuses, _statuses)
        check_static(edited_after, validate_datetime, "edited_after")
        check_static(edited_before, validate_datetime, "edited_before")
        self.project_hash = project_hash
        self.data_title_like = data_title_like
        self.label_statuses = label_statuses
        self.workflow_stage = workflow_stage
        self.edited_after = edited_after
        self.edited_before = edited_before

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
            kwargs = {
                "data_title_like": optional_str(self.data_title_like, "data_title_like"),
                "label_statuses": _statuses(self.label_statuses),
                "workflow_stage": optional_str(self.workflow_stage, "workflow_stage"),
                "edited_after": validate_datetime(self.edited_after or None, "edited_after"),
                "edited_before": validate_datetime(self.edited_before or None, "edited_before"),
            }
        self.persist_links(context, project_hash=project_hash)
        result = self.hook.list_label_rows(project_hash, **kwargs)
        self.log.info("Project %s: %d label row(s)", project_hash, len(result.get("label_rows", [])))
        return result
