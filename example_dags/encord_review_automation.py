"""
Review automation: once enough tasks have left annotation, clear the review queue in bulk.

    wait_for_annotation (deferrable) ─> stages ─┐
                                   review_queue ┴─> plan_review ─┬─> approve_labelled
                                                                 └─> send_back_unlabelled

Tasks in the review stage that carry labels are approved (they move on to the final stage); tasks that
reached review without any label are moved back to the annotation stage. Both moves are bulk calls, and
tasks that an earlier try already moved are reported as ``already_moved``: a re-run changes nothing.

Every setting is a DAG param with a default that works against the emulator's demo seed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_encord.operators import (
    GetWorkflowStagesOperator,
    ListLabelRowsOperator,
    MoveTaskOperator,
)
from airflow_provider_encord.sensors.label_status import LabelStatusSensor

with DAG(
    dag_id="encord_review_automation",
    description="Wait for annotation in Encord, then approve or send back the tasks in review",
    schedule="@hourly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "project_hash": Param("7692c442-0ac6-5945-82a1-70290e6d6cff", type="string"),
        "annotation_stage": Param("Annotate", type="string", description="Title of the annotation stage"),
        "review_stage": Param("Review", type="string", description="Title of the review stage"),
        "min_annotated": Param(4, type="integer", minimum=0, description="Tasks past annotation to wait for"),
    },
    tags=["encord", "example"],
) as dag:
    # --8<-- [start:sensor]
    wait_for_annotation = LabelStatusSensor(
        task_id="wait_for_annotation",
        project_hash="{{ params.project_hash }}",
        through_stage="{{ params.annotation_stage }}",  # done = the task has left this stage
        min_count="{{ params.min_annotated }}",
        deferrable=True,  # waits in the triggerer, not in a worker slot
        poke_interval=300,
        timeout=timedelta(hours=12),
    )
    # --8<-- [end:sensor]

    # --8<-- [start:review]
    stages = GetWorkflowStagesOperator(task_id="stages", project_hash="{{ params.project_hash }}")
    review_queue = ListLabelRowsOperator(
        task_id="review_queue",
        project_hash="{{ params.project_hash }}",
        workflow_stage="{{ params.review_stage }}",
    )

    @task(multiple_outputs=True)
    def plan_review(
        stages: dict[str, Any], queue: dict[str, Any], annotation_stage: str, review_stage: str
    ) -> dict[str, Any]:
        """Split the review queue: labelled tasks are approved, empty ones go back to annotation."""
        uuid_of = {stage["title"]: stage["uuid"] for stage in stages["stages"]}
        rows = queue["label_rows"]
        return {
            "review_stage_uuid": uuid_of[review_stage],
            "annotation_stage_uuid": uuid_of[annotation_stage],
            "approve": [row["data_hash"] for row in rows if row["label_hash"]],
            "send_back": [row["data_hash"] for row in rows if not row["label_hash"]],
        }

    plan = plan_review(
        stages.output, review_queue.output, "{{ params.annotation_stage }}", "{{ params.review_stage }}"
    )

    # An empty list (nothing to approve, nothing to send back) succeeds without a request.
    approve = MoveTaskOperator(
        task_id="approve_labelled",
        project_hash="{{ params.project_hash }}",
        stage_uuid=plan["review_stage_uuid"],
        data_hashes=plan["approve"],
        pathway_name="approve",
    )
    send_back = MoveTaskOperator(
        task_id="send_back_unlabelled",
        project_hash="{{ params.project_hash }}",
        stage_uuid=plan["review_stage_uuid"],
        data_hashes=plan["send_back"],
        destination_stage_uuid=plan["annotation_stage_uuid"],
    )
    # --8<-- [end:review]

    wait_for_annotation >> [stages, review_queue]
