"""Operators for Encord workflows: read the stages, move tasks between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_encord.hooks.inputs import validate_pathway_name, validate_uuid
from airflow_provider_encord.links.encord import EncordProjectLink
from airflow_provider_encord.operators.base import (
    EncordBaseOperator,
    check_static,
    parse_list_text,
    require_str,
    str_list,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class GetWorkflowStagesOperator(EncordBaseOperator):
    """
    Read the workflow stages of an Encord project (workflow projects only).

    Use it to look up a stage UUID by title for :class:`MoveTaskOperator` or the ``through_stage`` condition
    of :class:`~airflow_provider_encord.sensors.label_status.LabelStatusSensor`, e.g.
    ``{{ (ti.xcom_pull('stages')['stages'] | selectattr('title', 'eq', 'Review') | first)['uuid'] }}``.

    :param project_hash: The project hash (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"stages": [{"uuid", "title", "stage_type"}]}``.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "project_hash")
    operator_extra_links = (EncordProjectLink(),)

    def __init__(self, *, project_hash: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_static(project_hash, validate_uuid, "project_hash")
        self.project_hash = project_hash

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
        self.persist_links(context, project_hash=project_hash)
        return self.hook.get_workflow_stages(project_hash)


def hash_list_or_empty(value: Any, name: str) -> list[str]:
    """Like :func:`str_list`, but an empty list (a branch with nothing to do) is allowed."""
    if isinstance(value, str):
        value = parse_list_text(value)
    if isinstance(value, (list, tuple)) and not value:
        return []
    return str_list(value, name)


class MoveTaskOperator(EncordBaseOperator):
    """
    Act on workflow tasks in one stage of an Encord project: submit, approve, reject, or move them.

    Give either one ``data_hash`` or a list of ``data_hashes`` (sent in bundles), and either a
    ``pathway_name`` (``"submit"`` in an annotation stage, ``"approve"`` or ``"reject"`` in a review stage)
    or a ``destination_stage_uuid`` to move the tasks straight to another stage (any stage type).
    Tasks that are no longer in ``stage_uuid`` (a previous try moved them) are reported as ``already_moved``:
    a re-run after a success does nothing and succeeds. An empty ``data_hashes`` (say, an upstream query found
    nothing to approve) succeeds at once with ``status="nothing_to_move"``, without a request.

    :param project_hash: The project hash (templated).
    :param stage_uuid: The UUID of the stage the tasks are in now (templated).
    :param data_hash: The data hash of one task (templated).
    :param data_hashes: The data hashes of many tasks, a list (templated; an XCom pulled as text works).
    :param pathway_name: ``submit``, ``approve`` or ``reject`` (templated).
    :param destination_stage_uuid: The UUID of the stage to move the tasks to (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"status", ...}``; for ``data_hashes`` also ``"moved"`` and ``"already_moved"`` lists.
    """

    template_fields: Sequence[str] = (
        "encord_conn_id",
        "project_hash",
        "stage_uuid",
        "data_hash",
        "data_hashes",
        "pathway_name",
        "destination_stage_uuid",
    )
    operator_extra_links = (EncordProjectLink(),)

    def __init__(
        self,
        *,
        project_hash: str,
        stage_uuid: str,
        data_hash: str | None = None,
        data_hashes: list[str] | str | None = None,
        pathway_name: str | None = None,
        destination_stage_uuid: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (data_hash is None) == (data_hashes is None):
            raise ValueError(
                "Pass exactly one of data_hash (one task) or data_hashes (many tasks), got "
                f"data_hash={data_hash!r} and data_hashes={data_hashes!r:.80}."
            )
        if (pathway_name is None) == (destination_stage_uuid is None):
            raise ValueError(
                "Pass exactly one of pathway_name ('submit', 'approve' or 'reject') or "
                f"destination_stage_uuid, got pathway_name={pathway_name!r} and "
                f"destination_stage_uuid={destination_stage_uuid!r}."
            )
        check_static(project_hash, validate_uuid, "project_hash")
        check_static(stage_uuid, validate_uuid, "stage_uuid")
        if data_hash is not None:
            check_static(data_hash, require_str, "data_hash")
        if data_hashes is not None:
            check_static(data_hashes, hash_list_or_empty, "data_hashes")
        if pathway_name is not None:
            check_static(pathway_name, validate_pathway_name)
        if destination_stage_uuid is not None:
            check_static(destination_stage_uuid, validate_uuid, "destination_stage_uuid")
        self.project_hash = project_hash
        self.stage_uuid = stage_uuid
        self.data_hash = data_hash
        self.data_hashes = data_hashes
        self.pathway_name = pathway_name
        self.destination_stage_uuid = destination_stage_uuid

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
            stage_uuid = validate_uuid(self.stage_uuid, "stage_uuid")
            pathway_name = validate_pathway_name(self.pathway_name)
            destination = None
            if self.destination_stage_uuid is not None:
                destination = validate_uuid(self.destination_stage_uuid, "destination_stage_uuid")
            if self.data_hash is not None:
                data_hashes = None
                data_hash = require_str(self.data_hash, "data_hash")
            else:
                data_hash = None
                data_hashes = hash_list_or_empty(self.data_hashes, "data_hashes")
        self.persist_links(context, project_hash=project_hash)
        if data_hashes == []:
            self.log.info("No data hashes given: nothing to move in stage %s.", stage_uuid)
            return {"status": "nothing_to_move", "moved": [], "already_moved": []}
        action = pathway_name or f"move to stage {destination}"
        if data_hash is not None:
            result = self.hook.move_workflow_task(
                project_hash=project_hash,
                data_hash=data_hash,
                stage_uuid=stage_uuid,
                pathway_name=pathway_name,
                destination_stage_uuid=destination,
            )
            self.log.info(
                "Task %s in stage %s: %s -> %s", data_hash, stage_uuid, action, result.get("status")
            )
            return result
        result = self.hook.move_workflow_tasks(
            project_hash=project_hash,
            stage_uuid=stage_uuid,
            data_hashes=data_hashes,
            pathway_name=pathway_name,
            destination_stage_uuid=destination,
        )
        self.log.info(
            "Stage %s: %s on %d task(s): %d moved, %d already moved",
            stage_uuid,
            action,
            len(data_hashes or []),
            len(result.get("moved", [])),
            len(result.get("already_moved", [])),
        )
        return result
