"""LabelStatusSensor against the emulator: poke, deferral round trip, timeouts and soft_fail."""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_encord.sensors import LabelStatusSensor
from airflow_provider_encord.triggers.label_status import LabelStatusTrigger


def _sensor(emu, **kwargs):
    return LabelStatusSensor(task_id="wait", project_hash=emu.ids["project_hash"], poke_interval=0, **kwargs)


def test_poke_reports_progress_and_returns_label_hashes(encord_emulator, log_messages):
    sensor = _sensor(encord_emulator)
    first = sensor.poke({})
    assert not first.is_done
    assert f"Project {encord_emulator.ids['project_hash']}: 4/12 done (33%)" in log_messages()

    done = _sensor(encord_emulator, min_count=4).poke({})
    assert done.is_done and len(done.xcom_value) == 4
    assert set(done.xcom_value) <= set(encord_emulator.ids["label_hashes"])

    review_onwards = _sensor(encord_emulator, data_hashes=encord_emulator.ids["data_hashes"][4:]).poke({})
    assert not review_onwards.is_done
    through_annotate = _sensor(
        encord_emulator, through_stage="Annotate", data_hashes=encord_emulator.ids["data_hashes"][4:]
    ).poke({})
    assert through_annotate.is_done


def test_poke_mode_execute_returns_label_hashes(encord_emulator):
    result = _sensor(encord_emulator, target_statuses=["COMPLETED"], min_count=1, timeout=30).execute({})
    assert len(result) == 4


class _ReviewedBetweenChecks(LabelStatusSensor):
    """The sensor under test; the reviewers approve everything in Review after its first, unmet check."""

    def poke(self, context):
        result = super().poke(context)
        if not result.is_done:
            from airflow_provider_encord.hooks.encord import EncordHook

            hook = EncordHook()
            stage = hook.get_workflow_stages(self.project_hash)["stages"][1]["uuid"]
            in_review = hook.list_label_rows(self.project_hash, workflow_stage=stage)["label_rows"]
            hook.move_workflow_tasks(
                self.project_hash, stage, [r["data_hash"] for r in in_review], pathway_name="approve"
            )
        return result


def _reschedule_count(dag_run, task_id: str) -> int:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(TaskReschedule)
        if hasattr(TaskReschedule, "ti_id"):  # Airflow 3: a reschedule points at its task instance
            from airflow.models.taskinstance import TaskInstance

            query = query.join(TaskInstance, TaskReschedule.ti_id == TaskInstance.id)
            query = query.filter(TaskInstance.run_id == dag_run.run_id, TaskInstance.task_id == task_id)
        else:
            query = query.filter(TaskReschedule.run_id == dag_run.run_id, TaskReschedule.task_id == task_id)
        return query.count()


def test_reschedule_mode_frees_the_worker_between_checks(encord_emulator, run_dag, xcoms):
    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_encord.hooks.encord import EncordHook

    ids = encord_emulator.ids
    in_review = EncordHook().list_label_rows(ids["project_hash"], workflow_stage="Review")["label_rows"]
    assert [r["data_hash"] for r in in_review] == ids["data_hashes"][4:8]
    with DAG("encord_sensor_reschedule", schedule=None) as dag:
        _ReviewedBetweenChecks(
            task_id="reviewed",
            project_hash=ids["project_hash"],
            through_stage="Review",
            data_hashes=ids["data_hashes"][4:8],  # the rows in Review
            mode="reschedule",
            poke_interval=0,
            timeout=60,
        )
    run = run_dag(dag)
    assert run.state == "success"
    assert _reschedule_count(run, "reviewed") == 1  # the first check was unmet: the task was rescheduled
    assert sorted(xcoms(run)[("reviewed", "return_value")]) == sorted(r["label_hash"] for r in in_review)


def test_deferral_round_trip(encord_emulator):
    sensor = _sensor(encord_emulator, deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, LabelStatusTrigger)
    assert deferred.value.timeout is None
    assert trigger.end_time > 0 and trigger.target_statuses is None

    review = encord_emulator.ids["stages"]["Review"]
    annotate = encord_emulator.ids["stages"]["Annotate"]
    from airflow_provider_encord.hooks.encord import EncordHook

    hook = EncordHook()
    rows = hook.list_label_rows(encord_emulator.ids["project_hash"])["label_rows"]
    for stage in (annotate, review):
        hashes = [r["data_hash"] for r in rows if r["workflow_stage"]["uuid"] == stage]
        hook.move_workflow_tasks(
            encord_emulator.ids["project_hash"],
            stage,
            hashes,
            destination_stage_uuid=encord_emulator.ids["stages"]["Complete"],
        )
    event = asyncio.run(trigger.run().__anext__())
    assert event.payload["status"] == "success" and event.payload["matched"] == 12
    assert "label_hashes" not in event.payload  # read by the worker, not carried through the database
    assert sorted(sensor.execute_complete({}, event=event.payload)) == sorted(
        encord_emulator.ids["label_hashes"]
    )


def test_resumed_sensor_defers_again_when_the_condition_no_longer_holds(encord_emulator):
    ids = encord_emulator.ids
    sensor = _sensor(encord_emulator, deferrable=True, min_count=5, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    from airflow_provider_encord.hooks.encord import EncordHook

    hook = EncordHook()
    in_review = hook.list_label_rows(ids["project_hash"], workflow_stage="Review")["label_rows"]
    hook.move_workflow_tasks(
        ids["project_hash"],
        ids["stages"]["Review"],
        [in_review[0]["data_hash"]],
        destination_stage_uuid=ids["stages"]["Complete"],
    )
    event = asyncio.run(trigger.run().__anext__())
    assert event.payload["status"] == "success" and event.payload["matched"] == 5

    # Before the worker resumes, the task is sent back: the sensor waits again, to the same deadline.
    hook.move_workflow_tasks(
        ids["project_hash"],
        ids["stages"]["Complete"],
        [in_review[0]["data_hash"]],
        destination_stage_uuid=ids["stages"]["Review"],
    )
    with pytest.raises(TaskDeferred) as again:
        sensor.execute_complete({}, event=event.payload)
    assert again.value.trigger.end_time == trigger.end_time
    assert again.value.method_name == "execute_complete"


def test_deferrable_defaults_to_the_setting(encord_emulator, default_deferrable):
    deferrable = default_deferrable
    sensor = _sensor(encord_emulator, timeout=0)
    assert sensor.deferrable is deferrable
    # Not done yet: a deferrable sensor hands the wait to a trigger, a poking one times out at once.
    with pytest.raises(TaskDeferred if deferrable else AirflowSensorTimeout):
        sensor.execute({})
    assert _sensor(encord_emulator, deferrable=not deferrable).deferrable is not deferrable  # argument wins


def test_timeout_event_fails_or_skips_with_soft_fail(encord_emulator):
    event = {"status": "timeout", "message": "did not meet the condition before the deadline."}
    sensor = _sensor(encord_emulator, deferrable=True)
    with pytest.raises(AirflowSensorTimeout, match="before the deadline"):
        sensor.resume_execution("execute_complete", {"event": event}, {})
    soft = _sensor(encord_emulator, deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        soft.resume_execution("execute_complete", {"event": event}, {})


def test_soft_fail_never_skips_a_configuration_error(encord_emulator):
    soft = _sensor(encord_emulator, soft_fail=True, through_stage="Nowhere", timeout=30)
    with pytest.raises(AirflowFailException, match="Nowhere"):
        soft.execute({})
    error = {"status": "error", "retryable": False, "message": "through_stage='Nowhere' is not a stage"}
    deferred_soft = _sensor(encord_emulator, soft_fail=True, deferrable=True)
    with pytest.raises(AirflowFailException, match="Nowhere"):
        deferred_soft.resume_execution("execute_complete", {"event": error}, {})


def test_poke_mode_timeout_with_soft_fail_skips(encord_emulator):
    sensor = _sensor(encord_emulator, soft_fail=True, timeout=0)
    with pytest.raises(AirflowSkipException, match="timed out"):
        sensor.execute({})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_statuses": ["DONE"]}, "target_statuses"),
        ({"min_count": -1}, "min_count"),
        ({"target_statuses": ["COMPLETED"], "through_stage": "Review"}, "not both"),
        ({"data_hashes": []}, "data_hashes"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LabelStatusSensor(task_id="s", project_hash="7692c442-0ac6-5945-82a1-70290e6d6cff", **kwargs)


def test_templated_condition_is_checked_before_any_request(encord_emulator):
    sensor = _sensor(encord_emulator, min_count="{{ params.n }}", soft_fail=True)
    sensor.render_template_fields({"params": {"n": "many"}})
    encord_emulator.clear_requests()
    with pytest.raises(AirflowFailException, match="min_count"):
        sensor.execute({})
    assert encord_emulator.requests == []


def test_an_empty_project_is_not_done_and_its_progress_says_so(encord_emulator, log_messages):
    from airflow_provider_encord.hooks.encord import EncordHook

    hook = EncordHook()
    dataset = hook.create_dataset("Nothing uploaded yet")["dataset_hash"]
    project = hook.create_project(
        "Nothing to label yet", [dataset], ontology_hash=encord_emulator.ids["ontology_hash"]
    )["project_hash"]
    result = LabelStatusSensor(task_id="wait", project_hash=project).poke({})
    assert not result.is_done and result.xcom_value == []
    assert f"Project {project}: 0/0 done (no label rows yet)" in log_messages()
