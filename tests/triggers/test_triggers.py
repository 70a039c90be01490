"""The Encord triggers: serialization, events, transient errors, deadlines, a free event loop."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_encord.hooks.encord import EncordHook
from airflow_provider_encord.operators import UploadDataOperator
from airflow_provider_encord.sensors import LabelStatusSensor
from airflow_provider_encord.triggers.label_status import LabelStatusTrigger, format_progress
from airflow_provider_encord.triggers.upload import EncordUploadTrigger

FAST = {"max_retries": 0, "backoff_factor": 0}


@pytest.fixture
def emulator(encord_emulator_factory, monkeypatch):
    emu = encord_emulator_factory(seed="demo", upload_polls=3)
    conn = emu.airflow_connection()
    conn["extra"] = {**conn.get("extra", {}), **FAST}
    monkeypatch.setenv("AIRFLOW_CONN_ENCORD_DEFAULT", json.dumps(conn))
    return emu


def _first_event(trigger):
    async def first():
        return await trigger.run().__anext__()

    return asyncio.run(first())


def _round_trip(trigger):
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is type(trigger)
    again = cls(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    return kwargs


def test_serialize_round_trips_carry_identifiers_only():
    upload = EncordUploadTrigger(
        dataset_hash="d", upload_job_id="j", end_time=123.5, poll_interval=7, encord_conn_id="c"
    )
    kwargs = _round_trip(upload)
    assert kwargs == {
        "dataset_hash": "d",
        "upload_job_id": "j",
        "end_time": 123.5,
        "poll_interval": 7.0,
        "encord_conn_id": "c",
        "max_poll_errors": 5,
    }
    label = LabelStatusTrigger(
        project_hash="p", target_statuses=["COMPLETED"], min_count=3, data_hashes=["a"], end_time=1.0
    )
    kwargs = _round_trip(label)
    assert kwargs["target_statuses"] == ["COMPLETED"] and kwargs["through_stage"] is None
    assert not any("key" in name or "token" in name or "password" in name for name in kwargs)


def _start_upload(emu):
    hook = EncordHook()
    return hook.start_upload(emu.ids["dataset_hash"], emu.ids["integration_id"], ["s3://bucket/a.jpg"])


def test_upload_trigger_waits_until_the_job_is_done(emulator, log_messages):
    job = _start_upload(emulator)
    trigger = EncordUploadTrigger(**job, end_time=time.time() + 60, poll_interval=0)
    event = _first_event(trigger)
    assert event.payload["status"] == "success"
    assert event.payload["upload_status"] == "DONE" and event.payload["units_done_count"] == 1
    polls = [r for r in emulator.requests if "datasetdatalongpolling" in str(r)]
    assert len(polls) >= 4  # three PENDING answers, then DONE
    progress = [m for m in log_messages() if m.startswith(f"Upload job {job['upload_job_id']}: ")]
    assert progress == [
        *[f"Upload job {job['upload_job_id']}: PENDING (0 done, 0 failed, 1 pending)"] * 3,
        f"Upload job {job['upload_job_id']}: DONE (1 done, 0 failed, 0 pending)",
    ]  # one line per check


def test_transient_errors_are_retried_a_bounded_number_of_times(emulator):
    job = _start_upload(emulator)
    emulator.add_fault("rpc:datasetdatalongpolling:GET", "status", status=503, times=2)
    event = _first_event(EncordUploadTrigger(**job, end_time=time.time() + 60, poll_interval=0))
    assert event.payload["status"] == "success"

    emulator.add_fault("rpc:datasetdatalongpolling:GET", "status", status=503)
    event = _first_event(
        EncordUploadTrigger(**job, end_time=time.time() + 60, poll_interval=0, max_poll_errors=2)
    )
    assert event.payload["status"] == "error" and event.payload["retryable"] is True
    assert "3 checks in a row failed" in event.payload["message"]


def _deferred_trigger(task):
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({})
    return deferred.value.trigger


def _assert_retryable(event, task, budget):
    assert event.payload["status"] == "error" and event.payload["retryable"] is True
    assert f"{budget + 1} checks in a row failed" in event.payload["message"]
    with pytest.raises(AirflowException, match="checks in a row failed") as failure:
        task.execute_complete({}, event=event.payload)
    assert not isinstance(failure.value, AirflowFailException)  # Airflow retries the task


def test_upload_retryable_event_fails_the_task_so_that_it_is_retried(emulator, log_messages):
    op = UploadDataOperator(
        task_id="upload",
        dataset_hash=emulator.ids["dataset_hash"],
        integration_id=emulator.ids["integration_id"],
        file_urls=["s3://bucket/a.jpg"],
        deferrable=True,
        poll_interval=0.01,
    )
    trigger = _deferred_trigger(op)
    budget = trigger.max_poll_errors
    fault = emulator.add_fault("rpc:datasetdatalongpolling:GET", "status", status=503, times=budget + 1)
    _assert_retryable(_first_event(trigger), op, budget)
    assert fault.fired == budget + 1
    tolerated = [m for m in log_messages() if m.startswith("Check failed")]
    assert [m.split(":")[0] for m in tolerated] == [
        f"Check failed ({n} of {budget} tolerated in a row)" for n in range(1, budget + 1)
    ]


@pytest.mark.parametrize("soft_fail", [False, True])
def test_sensor_retryable_event_fails_the_task_so_that_it_is_retried(emulator, soft_fail):
    sensor = LabelStatusSensor(
        task_id="wait",
        project_hash=emulator.ids["project_hash"],
        deferrable=True,
        poke_interval=0,
        soft_fail=soft_fail,  # a server error is no timeout: never a skip
    )
    trigger = _deferred_trigger(sensor)
    budget = trigger.max_poll_errors
    fault = emulator.add_fault("rpc:labelrowmetadata:GET", "status", status=503, times=budget + 1)
    event = _first_event(trigger)
    _assert_retryable(event, sensor, budget)
    with pytest.raises(AirflowException) as resumed:
        sensor.resume_execution("execute_complete", {"event": event.payload}, {})
    assert not isinstance(resumed.value, (AirflowFailException, AirflowSkipException))
    assert fault.fired == budget + 1


def test_a_non_retryable_error_ends_the_wait_at_once(emulator):
    trigger = LabelStatusTrigger(
        project_hash=emulator.ids["project_hash"], through_stage="Nowhere", end_time=time.time() + 60
    )
    event = _first_event(trigger)
    assert event.payload["status"] == "error" and event.payload["retryable"] is False
    assert "Nowhere" in event.payload["message"]


def test_a_passed_deadline_gives_a_timeout_event(emulator):
    trigger = LabelStatusTrigger(project_hash=emulator.ids["project_hash"], end_time=time.time() - 1)
    event = _first_event(trigger)
    assert event.payload["status"] == "timeout"
    assert emulator.ids["project_hash"] in event.payload["message"]


def test_label_trigger_success_event_carries_counts_not_label_hashes(
    encord_emulator_factory, monkeypatch, log_messages
):
    emu = encord_emulator_factory(seed="scale", scale_images=2000, scale_objects=0)
    for key, value in emu.airflow_env().items():
        monkeypatch.setenv(key, value)
    end_time = time.time() + 60
    event = _first_event(LabelStatusTrigger(project_hash=emu.ids["project_hash"], end_time=end_time))
    assert event.payload == {
        "status": "success",
        "project_hash": emu.ids["project_hash"],
        "done": True,
        "matched": 2000,
        "total": 2000,
        "end_time": end_time,
    }
    # Stored in the metadata database as the task's next_kwargs: its size must not grow with the project.
    assert len(json.dumps(event.payload)) < 250
    assert f"Project {emu.ids['project_hash']}: 2000/2000 done (100%)" in log_messages()


def test_label_trigger_logs_the_progress_of_each_check(emulator, log_messages):
    project = emulator.ids["project_hash"]
    emulator.add_fault("rpc:labelrowmetadata:GET", "status", status=503, times=1)
    trigger = LabelStatusTrigger(
        project_hash=project, min_count=4, end_time=time.time() + 60, poll_interval=0
    )
    assert _first_event(trigger).payload["status"] == "success"
    progress = [m for m in log_messages() if m.startswith((f"Project {project}:", "Check failed"))]
    assert len(progress) == 2
    assert progress[0].startswith("Check failed (1 of 5 tolerated in a row): Could not list the label rows")
    assert progress[1] == f"Project {project}: 4/12 done (33%)"


def test_the_sdk_runs_off_the_event_loop(emulator):
    emulator.add_fault("rpc:labelrowmetadata:GET", "latency", delay=0.5, times=1)
    trigger = LabelStatusTrigger(
        project_hash=emulator.ids["project_hash"], min_count=1, end_time=time.time() + 60
    )
    ticks = 0

    async def main():
        nonlocal ticks
        waiting = asyncio.ensure_future(trigger.run().__anext__())
        while not waiting.done():
            ticks += 1
            await asyncio.sleep(0.01)
        return waiting.result()

    event = asyncio.run(main())
    assert event.payload["status"] == "success"
    assert ticks >= 10  # the loop kept running while the slow request was in flight


def test_format_progress():
    assert format_progress(412, 1000) == "412/1000 done (41%)"
    assert format_progress(999, 1000) == "999/1000 done (99%)"
    assert format_progress(0, 0) == "0/0 done (no label rows yet)"  # an empty project is not done
