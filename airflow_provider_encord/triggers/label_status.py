"""Trigger that waits until an Encord project's label rows meet a condition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_encord.triggers.base import EncordPollingTrigger

if TYPE_CHECKING:
    from airflow_provider_encord.hooks.encord import EncordHook


def format_progress(matched: int, total: int) -> str:
    """
    Render progress as ``412/1000 done (41%)``.

    Without any row the line says so (``0/0 done (no label rows yet)``) instead of a percentage: an empty
    project is not done.
    """
    if not total:
        return f"{matched}/{total} done (no label rows yet)"
    return f"{matched}/{total} done ({int(100 * matched / total)}%)"


class LabelStatusTrigger(EncordPollingTrigger):
    """
    Wait in the triggerer until a project's label rows meet the condition of ``LabelStatusSensor``.

    Serializes only identifiers, the condition, the deadline and the connection id. Each check logs the
    progress (``412/1000 done (41%)``). The success event carries the done flag, the counts and the
    deadline, never the label hashes: Airflow stores an event in the metadata database, and a large
    project's hashes would take megabytes there. The sensor reads them with one more check when it resumes.
    A sensor changes nothing in Encord, so there is nothing to cancel when the task is killed.

    :param project_hash: The project to watch.
    :param target_statuses: Statuses that count as done.
    :param min_count: Done once at least this many rows match, instead of all of them.
    :param data_hashes: Only these data units have to match.
    :param through_stage: Done once every task has passed the workflow stage with this UUID or title.
    :param end_time: Unix time after which the trigger stops waiting.
    :param poll_interval: Seconds between two checks.
    :param encord_conn_id: The Airflow connection to Encord.
    :param max_poll_errors: Consecutive failed checks tolerated before giving up.
    """

    def __init__(
        self,
        *,
        project_hash: str,
        target_statuses: list[str] | None = None,
        min_count: int | None = None,
        data_hashes: list[str] | None = None,
        through_stage: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_hash = project_hash
        self.target_statuses = list(target_statuses) if target_statuses is not None else None
        self.min_count = min_count
        self.data_hashes = list(data_hashes) if data_hashes is not None else None
        self.through_stage = through_stage

    def condition(self) -> dict[str, Any]:
        """The condition as keyword arguments of ``EncordHook.check_label_status``."""
        return {
            "project_hash": self.project_hash,
            "target_statuses": self.target_statuses,
            "min_count": self.min_count,
            "data_hashes": self.data_hashes,
            "through_stage": self.through_stage,
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self._classpath(), {**self.condition(), **self._base_kwargs()}

    def check(self, hook: EncordHook) -> dict[str, Any] | None:
        result = hook.check_label_status(**self.condition())
        self.log.info(
            "Project %s: %s", self.project_hash, format_progress(result["matched"], result["total"])
        )
        if not result["done"]:
            return None
        return {
            "project_hash": self.project_hash,
            "done": True,
            "matched": result["matched"],
            "total": result["total"],
            "end_time": self.end_time,
        }

    def timeout_message(self) -> str:
        return (
            f"The label rows of project {self.project_hash} did not meet the condition before the deadline."
        )
