"""UploadDataOperator and ExportCocoOperator against the emulator, including the deferral round trip."""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    Asset,
    ObjectStoragePath,
    TaskDeferred,
)

from airflow_provider_encord.hooks.encord import EncordHook
from airflow_provider_encord.operators import ExportCocoOperator, UploadDataOperator
from airflow_provider_encord.operators.upload import STATIC_URL_CHECK_LIMIT
from airflow_provider_encord.triggers.upload import EncordUploadTrigger

PROJECT = "7692c442-0ac6-5945-82a1-70290e6d6cff"


@pytest.fixture
def emulator(encord_emulator_factory, monkeypatch):
    emu = encord_emulator_factory(seed="demo", upload_polls=2)
    for key, value in emu.airflow_env().items():
        monkeypatch.setenv(key, value)
    return emu


def _upload(emu, **kwargs):
    return UploadDataOperator(
        task_id="upload",
        dataset_hash=emu.ids["dataset_hash"],
        integration_id=emu.ids["integration_id"],
        poll_interval=0.01,
        **kwargs,
    )


def test_upload_waits_in_the_worker_and_returns_hashes_and_counts(emulator):
    urls = [f"s3://bucket/img_{i}.jpg" for i in range(5)]
    result = _upload(emulator, file_urls=[*urls, urls[0]], deferrable=False).execute({})
    assert result["status"] == "DONE"
    assert result["units_done_count"] == 5 and result["units_error_count"] == 0
    assert len(result["data_hashes"]) == 5
    assert result["dataset_hash"] == emulator.ids["dataset_hash"]


def test_upload_deferral_round_trip(emulator):
    op = _upload(emulator, file_urls=["s3://bucket/a.jpg", "gs://bucket/b.mp4"], deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, EncordUploadTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is None
    event = asyncio.run(trigger.run().__anext__())
    assert event.payload["status"] == "success" and event.payload["upload_status"] == "DONE"
    result = op.execute_complete({}, event=event.payload)
    assert result["units_done_count"] == 2 and len(result["data_hashes"]) == 2


def test_upload_deferrable_defaults_to_the_setting(emulator, default_deferrable):
    deferrable = default_deferrable
    op = _upload(emulator, file_urls=["s3://bucket/a.jpg"])
    assert op.deferrable is deferrable
    if deferrable:
        with pytest.raises(TaskDeferred):
            op.execute({})
    else:
        assert op.execute({})["status"] == "DONE"  # waited in the worker
    explicit = _upload(emulator, file_urls=["s3://b/a.jpg"], deferrable=not deferrable)
    assert explicit.deferrable is not deferrable  # an explicit argument wins over the setting


def test_upload_failure_names_the_files_and_why(emulator):
    urls = ["s3://bucket/ok.jpg", "ftp://old-server/bad.jpg"]
    with pytest.raises(AirflowFailException) as failure:
        _upload(emulator, file_urls=urls, deferrable=False).execute({})
    assert "1 failed" in str(failure.value)
    assert "ftp://old-server/bad.jpg" in str(failure.value)

    urls = ["s3://bucket/ok_too.jpg", "ftp://old-server/bad.jpg"]
    kept = _upload(emulator, file_urls=urls, ignore_errors=True, deferrable=False).execute({})
    assert kept["status"] == "DONE"
    assert kept["units_error_count"] == 1 and kept["units_done_count"] == 1
    assert "bad.jpg" in kept["errors"][0]


def test_upload_wait_in_the_worker_gives_up_at_the_timeout(
    encord_emulator_factory, monkeypatch, log_messages
):
    pending = encord_emulator_factory(seed="demo", upload_polls=10**9)  # the job never finishes
    for key, value in pending.airflow_env().items():
        monkeypatch.setenv(key, value)
    op = _upload(pending, file_urls=["s3://bucket/a.jpg"], deferrable=False, timeout=0.3)
    with pytest.raises(
        AirflowFailException,
        match=r"had not finished after 0.3s \(1 file\(s\) still pending\).*Raise timeout",
    ):
        op.execute({})
    job = next(iter(pending.store.upload_jobs.values()))
    assert job["polls"] >= 2  # it kept checking until the deadline
    progress = f"Upload job {job['process_hash']}: 0 done, 0 failed, 1 pending"
    assert log_messages().count(progress) == job["polls"]  # one progress line per check
    status = EncordHook().get_upload_status(pending.ids["dataset_hash"], job["process_hash"])
    assert status["status"] == "PENDING"  # the job is left running in Encord


def test_upload_timeout_event_is_a_clear_failure(emulator):
    op = _upload(emulator, file_urls=["s3://bucket/a.jpg"], deferrable=True)
    event = {"status": "timeout", "message": "Upload job X on dataset Y had not finished by the deadline."}
    with pytest.raises(AirflowFailException, match=r"had not finished.*Raise timeout"):
        op.execute_complete({}, event=event)


def _attach_memory_filesystem() -> None:
    """Make ``memory://`` usable by ObjectStoragePath (Airflow 2.11 registers only schemes of providers)."""
    import fsspec

    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2
        from airflow.io.store import attach
    attach("memory", fs=fsspec.filesystem("memory"))


def test_upload_reads_urls_from_a_local_file_and_from_object_storage(emulator, tmp_path):
    local = tmp_path / "urls.txt"
    local.write_text("# exported list\ns3://bucket/one.jpg\n\ns3://bucket/two.png\n")
    result = _upload(emulator, file_urls_path=str(local), deferrable=False).execute({})
    assert result["units_done_count"] == 2

    _attach_memory_filesystem()
    remote = ObjectStoragePath("memory://lists/urls.json")
    remote.parent.mkdir(parents=True, exist_ok=True)
    remote.write_text(json.dumps([f"s3://bucket/many_{i}.jpg" for i in range(3)]))
    result = _upload(emulator, file_urls_path="memory://lists/urls.json", deferrable=False).execute({})
    assert result["units_done_count"] == 3


def test_upload_accepts_an_xcom_list_rendered_as_text(emulator):
    op = _upload(emulator, file_urls="{{ params.urls }}", deferrable=False)
    op.render_template_fields({"params": {"urls": ["s3://bucket/x.jpg", "s3://bucket/y.jpg"]}})
    assert isinstance(op.file_urls, str)
    assert op.execute({})["units_done_count"] == 2


def test_upload_without_waiting_returns_the_job(emulator):
    result = _upload(emulator, file_urls=["s3://bucket/a.jpg"], wait_for_completion=False).execute({})
    assert set(result) == {"dataset_hash", "upload_job_id", "files"} and result["files"] == 1


def _frames(count: int = 100_000) -> list[str]:
    return [f"s3://bucket/frames/{i:06d}.jpg" for i in range(count)]


def test_upload_takes_a_large_url_list(emulator):
    op = _upload(emulator, file_urls=_frames(), wait_for_completion=False)
    assert op.execute({})["files"] == 100_000


@pytest.fixture
def frames_dataset(emulator) -> str:
    """A new dataset in no project (the emulator then adds no label rows for 100k files)."""
    return EncordHook().create_dataset("Frames")["dataset_hash"]


def _assert_all_registered(emulator, dataset_hash, result, count=100_000):
    assert result["status"] == "DONE" and result["units_done_count"] == count
    assert result["dataset_hash"] == dataset_hash
    assert set(result["data_hashes"]) == set(emulator.store.datasets[dataset_hash]["data_hashes"])
    assert len(result["data_hashes"]) == count


def test_upload_registers_100k_urls_from_an_object_storage_file(emulator, frames_dataset):
    _attach_memory_filesystem()
    listing = ObjectStoragePath("memory://lists/frames.txt")
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("\n".join(_frames()))
    op = UploadDataOperator(
        task_id="upload",
        dataset_hash=frames_dataset,
        integration_id=emulator.ids["integration_id"],
        file_urls_path="memory://lists/frames.txt",
        deferrable=False,
        poll_interval=0.01,
    )
    _assert_all_registered(emulator, frames_dataset, op.execute({}))


def test_upload_registers_100k_urls_from_xcom(emulator, frames_dataset, run_dag, xcoms):
    from airflow.providers.common.compat.sdk import DAG, task

    with DAG("encord_upload_100k_from_xcom", schedule=None) as dag:

        @task
        def list_frames() -> list[str]:
            return _frames()

        UploadDataOperator(
            task_id="upload",
            dataset_hash=frames_dataset,
            integration_id=emulator.ids["integration_id"],
            file_urls=list_frames(),
            deferrable=False,
            poll_interval=0.01,
        )
    run = run_dag(dag)
    assert run.state == "success"
    _assert_all_registered(emulator, frames_dataset, xcoms(run)[("upload", "return_value")])


def test_a_long_fixed_list_is_checked_url_by_url_when_the_task_runs(emulator):
    urls = [*_frames(STATIC_URL_CHECK_LIMIT), "s3://bucket/notes.xyz"]
    op = _upload(emulator, file_urls=urls)  # parsing a DAG with a long list stays cheap: shape only
    emulator.clear_requests()
    with pytest.raises(AirflowFailException, match=r"media type of 's3://bucket/notes.xyz'"):
        op.execute({})
    assert emulator.requests == []  # still refused before any request
    with pytest.raises(ValueError, match=r"file_urls\[1001\]"):
        _upload(emulator, file_urls=[*urls, ""])  # not a list of URLs at all: refused at parse time
    with pytest.raises(ValueError, match="media type"):
        _upload(emulator, file_urls=urls[-STATIC_URL_CHECK_LIMIT:])  # a shorter list: checked in full


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"file_urls": ["/local/file.jpg"]}, "file_urls"),
        ({"file_urls": ["s3://bucket/file.xyz"]}, "media type"),
        ({"file_urls": []}, "empty"),
        ({"file_urls": ["s3://b/a.jpg"], "file_urls_path": "/tmp/x"}, "exactly one"),
        ({}, "exactly one"),
        ({"file_urls": ["s3://b/a.jpg"], "timeout": 0}, "timeout"),
    ],
)
def test_upload_arguments_are_checked_at_parse_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UploadDataOperator(
            task_id="u",
            dataset_hash="553529fb-82e5-56d7-aa66-d153e6897e5d",
            integration_id="ebd443a4-f91b-5b77-9d84-3f3c6971c47a",
            **kwargs,
        )


def test_upload_bad_url_file_fails_before_any_request(emulator, tmp_path):
    bad = tmp_path / "urls.txt"
    bad.write_text("s3://bucket/a.jpg\nnot a url\n")
    emulator.clear_requests()
    with pytest.raises(AirflowFailException, match="not a url"):
        _upload(emulator, file_urls_path=str(bad)).execute({})
    with pytest.raises(AirflowFailException, match="cannot be read"):
        _upload(emulator, file_urls_path=str(tmp_path / "missing.txt")).execute({})
    assert emulator.requests == []


def test_export_writes_the_file_atomically_and_returns_counts(emulator, tmp_path):
    out = tmp_path / "exports" / "coco.json"
    op = ExportCocoOperator(task_id="e", project_hash=emulator.ids["project_hash"], output_path=str(out))
    result = op.execute({})
    coco = json.loads(out.read_text())
    assert result["path"] == str(out)
    assert result["images"] == len(coco["images"]) > 0
    assert result["annotations"] == len(coco["annotations"]) > 0
    assert result["categories"] == len(coco["categories"])
    assert "coco_labels" not in result and "annotations_list" not in json.dumps(result)
    assert [p.name for p in out.parent.iterdir()] == ["coco.json"]  # no temporary file left behind

    out.write_text("previous export")
    emulator.add_fault("rpc:labelrow:GET", "status", status=500)
    with pytest.raises(AirflowException, match="export the labels"):
        op.execute({})
    assert out.read_text() == "previous export"  # a failed export leaves the old file whole
    assert [p.name for p in out.parent.iterdir()] == ["coco.json"]


def test_export_to_object_storage_and_filters(emulator, tmp_path):
    base = tmp_path.as_uri()
    op = ExportCocoOperator(
        task_id="e",
        project_hash=emulator.ids["project_hash"],
        output_path=base + "/exports/{{ run_id }}/coco.json",
        workflow_stage="Complete",
        object_classes=["Car"],
    )
    op.render_template_fields({"run_id": "manual__1"})
    result = op.execute({})
    assert result["path"] == f"{base}/exports/manual__1/coco.json"
    coco = json.loads(ObjectStoragePath(result["path"]).read_text())
    assert result["images"] == len(coco["images"]) == 4
    assert {c["name"] for c in coco["categories"]} == {"Car"}
    assert [p.name for p in (tmp_path / "exports" / "manual__1").iterdir()] == ["coco.json"]


def test_export_of_a_data_interval(emulator, tmp_path):
    op = ExportCocoOperator(
        task_id="e",
        project_hash=emulator.ids["project_hash"],
        output_path=str(tmp_path / "coco.json"),
        edited_after="{{ data_interval_start }}",
        edited_before="{{ data_interval_end }}",
    )
    op.render_template_fields(
        {"data_interval_start": "2000-01-01T00:00:00+00:00", "data_interval_end": "2000-01-02T00:00:00+00:00"}
    )
    assert op.execute({})["images"] == 0  # nothing was edited in that interval
    listing = [r for r in emulator.requests if r.query_type == "labelrowmetadata"][-1]
    assert listing.body["values"]["payload"]["edited_before"].startswith("2000-01-02T00:00:00")
    op.edited_after, op.edited_before = "2024-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
    assert op.execute({})["images"] > 0  # the seeded labels were edited in this one


def test_export_refuses_a_static_edited_before_that_is_not_a_time():
    with pytest.raises(ValueError, match="edited_before"):
        ExportCocoOperator(
            task_id="e",
            project_hash="7692c442-0ac6-5945-82a1-70290e6d6cff",
            output_path="/data/coco.json",
            edited_before="tomorrow",
        )


def test_export_declares_an_asset():
    op = ExportCocoOperator(
        task_id="e",
        project_hash="7692c442-0ac6-5945-82a1-70290e6d6cff",
        output_path="/data/coco.json",
        asset=True,
    )
    assert op.asset == Asset("file:///data/coco.json")
    assert op.asset in op.outlets
    named = ExportCocoOperator(
        task_id="e2",
        project_hash="7692c442-0ac6-5945-82a1-70290e6d6cff",
        output_path="s3://b/{{ run_id }}.json",
        asset="s3://b/latest",
    )
    assert named.outlets == [Asset("s3://b/latest")]
    with pytest.raises(ValueError, match="asset=True needs a fixed output_path"):
        ExportCocoOperator(
            task_id="e3",
            project_hash="7692c442-0ac6-5945-82a1-70290e6d6cff",
            output_path="s3://b/{{ run_id }}.json",
            asset=True,
        )
    with pytest.raises(ValueError, match="bundle_size"):
        ExportCocoOperator(task_id="e4", project_hash=PROJECT, output_path="/x", bundle_size=5000)


@pytest.mark.parametrize(
    "outlets",
    [
        (Asset("s3://b/other"),),
        [Asset("s3://b/other")],
        Asset("s3://b/other"),
        (Asset("s3://b/other"), Asset("file:///data/coco.json")),
    ],
    ids=["tuple", "list", "one", "already-listed"],
)
def test_export_adds_its_asset_to_the_outlets_as_a_flat_list(outlets):
    op = ExportCocoOperator(
        task_id="e", project_hash=PROJECT, output_path="/data/coco.json", asset=True, outlets=outlets
    )
    assert op.outlets == [Asset("s3://b/other"), Asset("file:///data/coco.json")]


def test_export_asset_event_names_the_checked_project_hash(emulator, run_dag, tmp_path):
    from airflow.providers.common.compat.sdk import DAG
    from airflow.utils.session import create_session

    try:
        from airflow.models.asset import AssetEvent, AssetModel
    except ImportError:  # Airflow 2
        from airflow.models.dataset import DatasetEvent as AssetEvent
        from airflow.models.dataset import DatasetModel as AssetModel

    output = tmp_path / "coco.json"
    with DAG("encord_export_asset_event", schedule=None) as dag:
        ExportCocoOperator(
            task_id="export",
            project_hash=f"  {PROJECT.upper()} ",  # accepted, and normalised before use
            output_path=str(output),
            asset=True,
        )
    run = run_dag(dag)
    assert run.state == "success"
    with create_session() as session:
        asset = session.query(AssetModel).filter(AssetModel.uri == output.as_uri()).one()
        column = AssetEvent.asset_id if hasattr(AssetEvent, "asset_id") else AssetEvent.dataset_id
        event = session.query(AssetEvent).filter(column == asset.id).order_by(AssetEvent.id.desc()).first()
        assert event.extra["project_hash"] == PROJECT
        assert event.extra["path"] == str(output) and event.extra["images"] > 0


def test_upload_files_items_in_the_templated_folder(emulator):
    folder = emulator.ids["storage_folders"]["videos"]
    op = _upload(
        emulator, file_urls=["s3://bucket/clip.mp4"], folder_uuid="{{ params.folder }}", deferrable=False
    )
    op.render_template_fields({"params": {"folder": folder}})
    assert op.execute({})["units_done_count"] == 1
    items = EncordHook().list_storage_items(folder)["items"]
    assert "clip.mp4" in [item["name"] for item in items]


def test_upload_rejects_a_static_folder_that_is_not_a_uuid(emulator):
    with pytest.raises(ValueError, match="folder_uuid"):
        _upload(emulator, file_urls=["s3://bucket/clip.mp4"], folder_uuid="videos")
