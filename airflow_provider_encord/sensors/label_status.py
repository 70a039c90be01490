"""Sensor that waits until the label rows of an Encord project meet a condition."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
)

from airflow_provider_encord.hooks.inputs import validate_statuses, validate_uuid
from airflow_provider_encord.links.encord import EncordProjectLink, app_url_from_domain
from airflow_provider_encord.operators.base import (
    DEFAULT_CONN_ID,
    check_static,
    default_deferrable,
    optional_str,
    str_list,
)
from airflow_provider_encord.triggers.label_status import LabelStatusTrigger, format_progress

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_encord.hooks.encord import EncordHook


def _min_count(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Invalid min_count={value!r}: expected a whole number of at least 0.")
    return value


def _statuses(value: Any) -> list[str] | None:
    if isinstance(value, str) and value.strip().startswith(("[", "(")):
        value = str_list(value, "target_statuses")
    return validate_statuses(value or None, "target_statuses")


class LabelStatusSensor(BaseSensorOperator):
    """
    Wait until the label rows of an Encord project meet a condition.

    A row matches when its label status or annotation task status is one of ``target_statuses`` (default
    ``COMPLETED``), or, with ``through_stage``, when its task has moved past that workflow stage. The sensor
    is done when every row matches, or at least ``min_count`` rows, or every row of ``data_hashes``. Each
    check logs the progress (``412/1000 done (41%)``); the sensor returns the matching label hashes as XCom.

    Works in ``poke`` and ``reschedule`` mode, and with ``deferrable=True`` in the triggerer. ``timeout``
    bounds the wait in every mode. With ``soft_fail=True`` the task is skipped only when the wait times out;
    a bad argument, an unknown stage or data hash, or an authentication error still fails the task.

    .. seealso::
        :class:`~airflow_provider_encord.triggers.label_status.LabelStatusTrigger`

    :param project_hash: The project to watch (templated).
    :param target_statuses: Statuses that count as done (templated): ``LabelStatus`` names (``LABELLED``,
        ``REVIEWED``, ...) or ``AnnotationTaskStatus`` names (``QUEUED``, ..., ``COMPLETED``).
    :param min_count: Done once at least this many rows match, instead of all of them (templated).
    :param data_hashes: Only these data units count; each must be in the project (templated).
    :param through_stage: Done once no task is left in this workflow stage or an earlier one; the stage's UUID
        or title (templated). Replaces ``target_statuses``.
    :param deferrable: Wait in the triggerer. Unset, the ``[operators] default_deferrable`` setting decides
        (read when the DAG is parsed).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The label hashes of the matching rows (unlabelled rows have none).
    """

    template_fields: Sequence[str] = (
        "encord_conn_id",
        "project_hash",
        "target_statuses",
        "min_count",
        "data_hashes",
        "through_stage",
    )
    operator_extra_links = (EncordProjectLink(),)
    ui_color = "#ebe4ff"

    def __init__(
        self,
        *,
        project_hash: str,
        target_statuses: list[str] | str | None = None,
        min_count: int | None = None,
        data_hashes: list[str] | str | None = None,
        through_stage: str | None = None,
        deferrable: bool | None = None,
        encord_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if through_stage is not None and target_statuses is not None:
            raise ValueError(
                "Give either target_statuses (rows in these statuses) or through_stage (tasks past this "
                "stage), "
                f"not both; got target_statuses={target_statuses!r} and through_stage={through_stage!r}."
            )
        check_static(project_hash, validate_uuid, "project_hash")
        check_static(target_statuses, _statuses)
        check_static(min_count, _min_count)
        if data_hashes is not None:
            check_static(data_hashes, str_list, "data_hashes")
        check_static(through_stage, optional_str, "through_stage")
        self.project_hash = project_hash
        self.target_statuses = target_statuses
        self.min_count = min_count
        self.data_hashes = data_hashes
        self.through_stage = through_stage
        self.deferrable = default_deferrable(deferrable)
        self.encord_conn_id = encord_conn_id

    @cached_property
    def hook(self) -> EncordHook:
        """The :class:`~airflow_provider_encord.hooks.encord.EncordHook` of ``encord_conn_id``."""
        from airflow_provider_encord.hooks.encord import EncordHook

        return EncordHook(encord_conn_id=self.encord_conn_id)

    def _condition(self) -> dict[str, Any]:
        """The rendered condition, checked; a bad value fails the task (never skipped by ``soft_fail``)."""
        try:
            return {
                "project_hash": validate_uuid(self.project_hash, "project_hash"),
                "target_statuses": _statuses(self.target_statuses),
                "min_count": _min_count(self.min_count),
                "data_hashes": None
                if self.data_hashes is None
                else str_list(self.data_hashes, "data_hashes"),
                "through_stage": optional_str(self.through_stage, "through_stage"),
            }
        except ValueError as err:
            raise AirflowFailException(f"{self.task_id}: {err}") from None

    def _persist_link(self, context: Context, project_hash: str) -> None:
        if not context or context.get("ti") is None:
            return
        try:
            app_url = app_url_from_domain(self.hook.domain)
        except Exception as err:  # a link must never fail the task
            self.log.warning("No Encord link for this task: %s", err)
            return
        EncordProjectLink.persist(context, app_url=app_url, project_hash=project_hash)

    def _check(self, condition: dict[str, Any]) -> PokeReturnValue:
        """Check the condition once, log the progress; the XCom value is the matching label hashes."""
        result = self.hook.check_label_status(**condition)
        self.log.info(
            "Project %s: %s", condition["project_hash"], format_progress(result["matched"], result["total"])
        )
        return PokeReturnValue(
            is_done=bool(result["done"]), xcom_value=list(result.get("label_hashes") or [])
        )

    def poke(self, context: Context) -> PokeReturnValue:
        return self._check(self._condition())

    def execute(self, context: Context) -> Any:
        condition = self._condition()
        self._persist_link(context, condition["project_hash"])
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSkipException as skip:
                raise self._unless_timeout(skip) from None
        end_time = time.time() + _seconds(self.timeout)
        first = self._check(condition)
        if first.is_done:
            return first.xcom_value
        self._defer(condition, end_time)

    def _defer(self, condition: dict[str, Any], end_time: float) -> NoReturn:
        self.defer(
            trigger=LabelStatusTrigger(
                **condition,
                end_time=end_time,
                poll_interval=_seconds(self.poke_interval),
                encord_conn_id=self.encord_conn_id,
            ),
            method_name="execute_complete",
            timeout=None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> list[str]:
        """
        Resume after the trigger fired: return the label hashes, or fail (or skip on a timeout).

        The trigger's event carries only counts, so the label hashes come from one more check here. Should
        the rows no longer meet the condition (a task sent back in the meantime), the sensor defers again
        with the original deadline.
        """
        if not event:
            raise AirflowFailException(f"{self.task_id}: resumed without a trigger event.")
        status = event.get("status")
        if status == "success":
            condition = self._condition()
            result = self._check(condition)
            if result.is_done:
                return result.xcom_value
            self.log.warning(
                "Project %s met the condition in the triggerer but no longer does; waiting again.",
                condition["project_hash"],
            )
            self._defer(condition, float(event["end_time"]))
        if status == "timeout":
            # soft_fail turns this (and only this) into a skip, see resume_execution.
            raise AirflowSensorTimeout(f"{event.get('message')} (timeout {_seconds(self.timeout):g}s)")
        message = f"Checking the label status failed: {event.get('message')}"
        if event.get("retryable"):
            raise AirflowException(message)
        raise AirflowFailException(message)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException as skip:
            raise self._unless_timeout(skip) from None

    def _unless_timeout(self, skip: AirflowSkipException) -> BaseException:
        """
        Undo ``soft_fail`` for everything but a timeout.

        The base sensor turns any ``AirflowException`` into a skip when ``soft_fail`` is set; here a skip
        caused by anything other than a timeout is turned back into the original failure.
        """
        cause = skip.__cause__
        if getattr(self, "never_fail", False) or cause is None or _is_timeout(cause):
            return skip
        return cause


def _is_timeout(err: BaseException) -> bool:
    from airflow.providers.common.compat.sdk import AirflowTaskTimeout

    names = {cls.__name__ for cls in type(err).__mro__}
    return isinstance(err, (AirflowSensorTimeout, AirflowTaskTimeout)) or "TaskDeferralTimeout" in names


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
