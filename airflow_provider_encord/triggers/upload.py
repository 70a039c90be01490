"""Trigger that waits for an Encord upload job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_encord.triggers.base import EncordPollingTrigger

if TYPE_CHECKING:
    from airflow_provider_encord.hooks.encord import EncordHook

#: Upload job states after which the job no longer changes.
FINISHED_UPLOAD_STATES = frozenset({"DONE", "ERROR", "CANCELLED"})


class EncordUploadTrigger(EncordPollingTrigger):
    """
    Wait in the triggerer until an Encord upload job (started by ``UploadDataOperator``) has finished.

    Serializes only the dataset hash, the job id, the deadline and the connection id. The success event
    carries the job's final state and counts, not the data hashes; the operator reads those once it resumes.
    Encord has no call to cancel a dataset upload job, so killing the task leaves the job running in Encord.

    :param dataset_hash: The dataset the files are uploaded to.
    :param upload_job_id: The upload job id returned when the job started.
    :param end_time: Unix time after which the trigger stops waiting.
    :param poll_interval: Seconds between two checks.
    :param encord_conn_id: The Airflow connection to Encord.
    :param max_poll_errors: Consecutive failed checks tolerated before giving up.
    """

    def __init__(self, *, dataset_hash: str, upload_job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset_hash = dataset_hash
        self.upload_job_id = upload_job_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self._classpath(), {
            "dataset_hash": self.dataset_hash,
            "upload_job_id": self.upload_job_id,
            **self._base_kwargs(),
        }

    def check(self, hook: EncordHook) -> dict[str, Any] | None:
        status = hook.get_upload_status(self.dataset_hash, self.upload_job_id)
        state = status.get("status")
        self.log.info(
            "Upload job %s: %s (%s done, %s failed, %s pending)",
            self.upload_job_id,
            state,
            status.get("units_done_count"),
            status.get("units_error_count"),
            status.get("units_pending_count"),
        )
        if state not in FINISHED_UPLOAD_STATES:
            return None
        return {
            "dataset_hash": self.dataset_hash,
            "upload_job_id": self.upload_job_id,
            "upload_status": state,
            **{key: status.get(key) for key in _COUNT_KEYS},
        }

    def timeout_message(self) -> str:
        return (
            f"Upload job {self.upload_job_id} on dataset {self.dataset_hash} had not finished by the "
            "deadline; "
            "it may still be running in Encord."
        )


_COUNT_KEYS = ("units_pending_count", "units_done_count", "units_error_count", "units_cancelled_count")
