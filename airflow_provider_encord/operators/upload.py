"""Operator that registers files from cloud storage in an Encord dataset."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_encord.hooks.inputs import build_upload_registration, validate_uuid
from airflow_provider_encord.links.encord import EncordDatasetLink
from airflow_provider_encord.operators.base import (
    EncordBaseOperator,
    check_static,
    default_deferrable,
    optional_uuid,
    parse_list_text,
    require_str,
    str_list,
)
from airflow_provider_encord.triggers.upload import FINISHED_UPLOAD_STATES, EncordUploadTrigger

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: Failed files listed in a failure message; the rest are counted.
MAX_ERRORS_SHOWN = 20
#: Error entries kept in the XCom result.
MAX_ERRORS_RETURNED = 100
#: A fixed ``file_urls`` list up to this long is checked URL by URL when the DAG is parsed; a longer one only
#: for its shape then, and URL by URL when the task runs (100k URLs take about half a second to check).
STATIC_URL_CHECK_LIMIT = 1000


def read_url_file(location: str) -> list[str]:
    """
    Read file URLs from a local path or an object-storage URI.

    The file holds a JSON list of URLs or one URL a line (blank lines and ``#`` comments are skipped).
    """
    if "://" in location and not location.startswith("file://"):
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        text = ObjectStoragePath(location).read_text()
    else:
        path = Path(location.removeprefix("file://")).expanduser()
        text = path.read_text()
    return parse_list_text(text)


def check_file_urls(value: Any, name: str = "file_urls") -> dict[str, Any]:
    """
    Return Encord's registration object for the files: the URLs (each sent once), or a given object as is.

    A string is read as a list (JSON, Python repr, or one URL a line) unless it holds a JSON object. Raises
    ``ValueError`` naming the first URL that is not a cloud URL of a known media type.
    """
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ValueError(
                f"Invalid {name}: it looks like a JSON object but does not parse: {err}"
            ) from None
    if isinstance(value, dict):
        return build_upload_registration(value)
    return build_upload_registration(list(dict.fromkeys(str_list(value, name))))


def check_static_file_urls(value: Any) -> None:
    """
    Check a ``file_urls`` fixed in the DAG file, at parse time.

    In full up to :data:`STATIC_URL_CHECK_LIMIT` URLs; a longer list only for being a list of non-empty
    strings, so that parsing the DAG stays cheap. Its URLs are checked when the task runs, before any request.
    """
    if isinstance(value, (list, tuple, set, frozenset)) and len(value) > STATIC_URL_CHECK_LIMIT:
        str_list(value, "file_urls")
    else:
        check_file_urls(value)


def _file_count(registration: dict[str, Any]) -> int:
    return sum(len(v) for v in registration.values() if isinstance(v, list))


def _seconds(name: str, value: float | timedelta) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds or a timedelta, got {value!r}.")
    return float(seconds)


def failure_summary(status: dict[str, Any]) -> str:
    """Describe which files of an upload failed and why, listing at most ``MAX_ERRORS_SHOWN`` of them."""
    errors = list(status.get("errors") or [])
    failed = status.get("units_error_count") or len(errors)
    lines = [
        f"Upload job {status.get('upload_job_id')} on dataset {status.get('dataset_hash')} ended "
        f"{status.get('status')}: {status.get('units_done_count') or 0} file(s) registered, {failed} failed, "
        f"{status.get('units_cancelled_count') or 0} cancelled."
    ]
    lines += [f"  - {error}" for error in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(f"  ... and {len(errors) - MAX_ERRORS_SHOWN} more.")
    lines.append(
        "Check that the integration can read these objects and that they are supported media; "
        "pass ignore_errors=True to keep the files that worked."
    )
    return "\n".join(lines)


class UploadDataOperator(EncordBaseOperator):
    """
    Register files from your cloud storage in an Encord dataset, and by default wait until Encord is done.

    The URLs come from ``file_urls`` (a list, a templated ``xcom_pull`` or an ``XComArg``) or from
    ``file_urls_path``, a local file or object-storage URI holding a JSON list or one URL a line. 100k URLs
    are fine from ``file_urls_path`` or XCom; do not write a large list into the DAG file, which is parsed
    again and again and stored with the serialized DAG. A fixed list is checked when the DAG is parsed, URL
    by URL up to 1,000 URLs; a longer one only for its shape then, and its URLs when the task runs, still
    before any request.

    Each URL is filed as image, video, audio, text, PDF or NIfTI by its extension; for image groups or DICOM
    series pass Encord's registration object (``{"images": [{"objectUrl": ...}], ...}``) as ``file_urls``
    instead. Duplicate URLs are sent once, and files already in the dataset are skipped, so a retried task
    does not register them twice.

    The job id is pushed to XCom (key ``upload_job_id``) and the dataset link is stored before the wait, which
    happens in the worker or, with ``deferrable=True``, in the triggerer. When files fail the task fails with
    a summary of which files and why, unless ``ignore_errors=True``: then the files that worked are kept and
    the task succeeds, reporting the counts.

    .. seealso::
        :class:`~airflow_provider_encord.triggers.upload.EncordUploadTrigger`

    :param dataset_hash: The dataset to add the files to (templated).
    :param integration_id: The UUID of the Encord storage integration that can read the files (templated).
    :param file_urls: The URLs of the files, or a registration object (templated). For thousands of URLs
        prefer ``file_urls_path`` or an XCom.
    :param file_urls_path: A local path or object-storage URI of a file listing the URLs (templated): the
        way to pass a large list.
    :param folder_uuid: The storage folder to file the new items in (templated); by default the dataset's
        own mirrored folder.
    :param ignore_errors: Keep the files that worked when some fail, instead of failing the task.
    :param wait_for_completion: Wait until the job has finished; False returns as soon as it has started.
    :param timeout: How long to wait for the job, in seconds or a timedelta. The job is not stopped.
    :param poll_interval: Seconds between two status checks.
    :param deferrable: Wait in the triggerer instead of the worker. Unset, the ``[operators]
        default_deferrable`` setting decides (read when the DAG is parsed).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"dataset_hash", "upload_job_id", "status", "data_hashes", "units_done_count",
        "units_error_count", "units_pending_count", "units_cancelled_count", "errors"}`` (at most 100 errors);
        only ``dataset_hash``, ``upload_job_id`` and ``files`` when not waiting.
    """

    template_fields: Sequence[str] = (
        "encord_conn_id",
        "dataset_hash",
        "integration_id",
        "file_urls",
        "file_urls_path",
        "folder_uuid",
    )
    operator_extra_links = (EncordDatasetLink(),)
    ui_color = "#d8ccff"

    def __init__(
        self,
        *,
        dataset_hash: str,
        integration_id: str,
        file_urls: list[str] | str | None = None,
        file_urls_path: str | None = None,
        folder_uuid: str | None = None,
        ignore_errors: bool = False,
        wait_for_completion: bool = True,
        timeout: float | timedelta = 3600,
        poll_interval: float = 10,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (file_urls is None) == (file_urls_path is None):
            raise ValueError(
                "Pass exactly one of file_urls (a list of URLs) or file_urls_path (a file listing them), got "
                f"file_urls={file_urls!r:.80} and file_urls_path={file_urls_path!r}."
            )
        check_static(dataset_hash, validate_uuid, "dataset_hash")
        check_static(integration_id, validate_uuid, "integration_id")
        if file_urls is not None:
            check_static(file_urls, check_static_file_urls)
        if file_urls_path is not None:
            check_static(file_urls_path, require_str, "file_urls_path")
        check_static(folder_uuid, optional_uuid, "folder_uuid")
        self.dataset_hash = dataset_hash
        self.integration_id = integration_id
        self.file_urls = file_urls
        self.file_urls_path = file_urls_path
        self.folder_uuid = folder_uuid
        self.ignore_errors = ignore_errors
        self.wait_for_completion = wait_for_completion
        self.wait_timeout = _seconds("timeout", timeout)
        self.poll_interval = _seconds("poll_interval", poll_interval)
        self.deferrable = default_deferrable(deferrable)

    def _resolve_files(self) -> dict[str, Any]:
        if self.file_urls_path is not None:
            location = require_str(self.file_urls_path, "file_urls_path")
            try:
                urls: Any = read_url_file(location)
            except (OSError, ValueError) as err:
                raise ValueError(f"file_urls_path={location!r} cannot be read: {err}") from None
            return check_file_urls(urls, f"the URL list in {location}")
        return check_file_urls(self.file_urls)

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            dataset_hash = validate_uuid(self.dataset_hash, "dataset_hash")
            integration_id = validate_uuid(self.integration_id, "integration_id")
            files = self._resolve_files()
            folder_uuid = optional_uuid(self.folder_uuid, "folder_uuid")
        count = _file_count(files)
        self.persist_links(context, dataset_hash=dataset_hash)
        self.log.info("Registering %d file(s) in dataset %s", count, dataset_hash)
        started = self.hook.start_upload(
            dataset_hash=dataset_hash,
            integration_id=integration_id,
            file_urls=files,
            ignore_errors=self.ignore_errors,
            folder_uuid=folder_uuid,
        )
        job_id = started["upload_job_id"]
        self.log.info("Upload job %s started", job_id)
        if context and context.get("ti") is not None:
            context["ti"].xcom_push(key="upload_job_id", value=job_id)
        if not self.wait_for_completion:
            return {"dataset_hash": dataset_hash, "upload_job_id": job_id, "files": count}

        end_time = time.time() + self.wait_timeout
        status = self.hook.get_upload_status(dataset_hash, job_id)
        if self.deferrable and status.get("status") not in FINISHED_UPLOAD_STATES:
            self.defer(
                trigger=EncordUploadTrigger(
                    dataset_hash=dataset_hash,
                    upload_job_id=job_id,
                    end_time=end_time,
                    poll_interval=self.poll_interval,
                    encord_conn_id=self.encord_conn_id,
                ),
                method_name="execute_complete",
                timeout=None,
            )
        while status.get("status") not in FINISHED_UPLOAD_STATES:
            self.log.info(
                "Upload job %s: %s done, %s failed, %s pending",
                job_id,
                status.get("units_done_count"),
                status.get("units_error_count"),
                status.get("units_pending_count"),
            )
            if time.time() >= end_time:
                raise AirflowFailException(
                    f"Upload job {job_id} on dataset {dataset_hash} had not finished after "
                    f"{self.wait_timeout:g}s ({status.get('units_pending_count')} file(s) still pending); "
                    "it may still be running in Encord. Raise timeout to wait longer."
                )
            time.sleep(min(self.poll_interval, max(0.0, end_time - time.time())))
            status = self.hook.get_upload_status(dataset_hash, job_id)
        return self._finish(status)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: fail on an error or a timeout, else read and report the result."""
        if not event:
            raise AirflowFailException(f"{self.task_id}: resumed without a trigger event.")
        if event.get("status") == "timeout":
            raise AirflowFailException(f"{event.get('message')} Raise timeout to wait longer.")
        if event.get("status") != "success":
            message = f"Waiting for the upload job failed: {event.get('message')}"
            if event.get("retryable"):
                raise AirflowException(message)
            raise AirflowFailException(message)
        status = self.hook.get_upload_status(event["dataset_hash"], event["upload_job_id"])
        return self._finish(status)

    def _finish(self, status: dict[str, Any]) -> dict[str, Any]:
        state = status.get("status")
        failed = status.get("units_error_count") or 0
        result = {
            "dataset_hash": status.get("dataset_hash"),
            "upload_job_id": status.get("upload_job_id"),
            "status": state,
            "data_hashes": list(status.get("data_hashes") or []),
            "units_done_count": status.get("units_done_count") or 0,
            "units_error_count": failed,
            "units_pending_count": status.get("units_pending_count") or 0,
            "units_cancelled_count": status.get("units_cancelled_count") or 0,
            "errors": list(status.get("errors") or [])[:MAX_ERRORS_RETURNED],
        }
        if state != "DONE" or (failed and not self.ignore_errors):
            raise AirflowFailException(failure_summary(status))
        if failed:
            self.log.warning("%s", failure_summary(status))
        self.log.info(
            "Upload job %s finished: %d registered, %d failed, %d cancelled",
            result["upload_job_id"],
            result["units_done_count"],
            failed,
            result["units_cancelled_count"],
        )
        return result
