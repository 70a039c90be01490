"""
Every example DAG runs to success with ``dag.test()`` against the emulator, with a logical date (a scheduled
run) and without one (a run triggered from the UI, the CLI or the REST API).

``dag.test()`` swallows task exceptions, so each test asserts the run's state, the task states and what the
run changed in the emulator.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest


def _airflow_major() -> int:
    from importlib.metadata import version

    return int(version("apache-airflow").split(".")[0])


SCHEDULED = datetime(2024, 1, 2, tzinfo=timezone.utc)
#: Airflow 3 runs triggered from the UI, CLI or REST API have no logical date; on Airflow 2 every run has one
#: (the trigger time), and with it a data interval.
RUNS_WITHOUT_LOGICAL_DATE = _airflow_major() >= 3
MANIFEST = Path(__file__).resolve().parents[2] / "example_dags" / "data" / "new_images.txt"


def task_states(dag_run) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id)
            .all()
        )
        return {ti.task_id: str(ti.state) for ti in tis}


def run(run_dag, dagbag, dag_id: str, logical_date):
    dag_run = run_dag(dagbag.dags[dag_id], logical_date=logical_date)
    states = task_states(dag_run)
    assert dag_run.state == "success", states
    return dag_run, states


def manifest_urls() -> list[str]:
    lines = MANIFEST.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_ingestion_creates_everything_once_with_and_without_a_logical_date(run_dag, dagbag, xcoms, emulator):
    first, states = run(run_dag, dagbag, "encord_ingestion", SCHEDULED)
    assert set(states.values()) == {"success"}
    values = xcoms(first)
    dataset = values[("dataset", "return_value")]
    upload = values[("upload", "return_value")]
    project = values[("project", "return_value")]
    assert dataset["created"] and project["created"]
    assert values[("storage_folder", "return_value")]["created"]
    assert upload["status"] == "DONE" and upload["units_done_count"] == len(manifest_urls())
    assert values[("upload", "upload_job_id")] == upload["upload_job_id"]
    # The upload deferred: the operator checked once, the trigger checked again until the job was done.
    status_checks = [
        r for r in emulator.requests if r.query_type == "datasetdatalongpolling" and r.query_method == "GET"
    ]
    assert len(status_checks) >= 3

    stored_project = emulator.store.projects[project["project_hash"]]
    assert stored_project.dataset_hashes == [dataset["dataset_hash"]]
    assert stored_project.ontology_hash == values[("ontology", "return_value")]["ontology_hash"]
    assert stored_project.users["annotator@example.com"] == 1  # ProjectUserRole.ANNOTATOR
    assert stored_project.users["reviewer@example.com"] == 2  # ProjectUserRole.REVIEWER
    urls = {
        emulator.store.data[h]["url"] for h in emulator.store.datasets[dataset["dataset_hash"]]["data_hashes"]
    }
    assert urls == set(manifest_urls())
    folder = emulator.store.folders[values[("storage_folder", "return_value")]["uuid"]]
    filed = {item["url"] for item in emulator.store.items.values() if item["parent"] == folder["uuid"]}
    assert filed == set(manifest_urls()), "the files are filed in the DAG's storage folder"

    second, states = run(run_dag, dagbag, "encord_ingestion", None)
    assert (second.logical_date is None) == RUNS_WITHOUT_LOGICAL_DATE
    values = xcoms(second)
    assert values[("dataset", "return_value")]["dataset_hash"] == dataset["dataset_hash"]
    assert values[("project", "return_value")]["project_hash"] == project["project_hash"]
    assert not values[("dataset", "return_value")]["created"]
    assert not values[("ontology", "return_value")]["created"]
    assert not values[("project", "return_value")]["created"]
    assert len(emulator.store.datasets[dataset["dataset_hash"]]["data_hashes"]) == len(manifest_urls())
    titles = [d["title"] for d in emulator.store.datasets.values()]
    assert titles.count("Street scenes") == 1


def test_ingestion_without_new_files_skips_the_upload_but_sets_up_the_project(
    run_dag, dagbag, xcoms, emulator, tmp_path
):
    empty = tmp_path / "manifest.txt"
    empty.write_text("# nothing arrived\n")
    dag_run = run_dag(
        dagbag.dags["encord_ingestion"], logical_date=None, run_conf={"manifest_uri": str(empty)}
    )
    states = task_states(dag_run)
    assert dag_run.state == "success", states
    assert states["find_new_files"] == "skipped" and states["upload"] == "skipped"
    assert states["project"] == "success" and states["add_reviewers"] == "success"


def _stage_of(emulator, data_hash: str) -> str:
    row = emulator.store.projects[emulator.ids["project_hash"]].rows.get(data_hash)
    stages = {uuid: title for title, uuid in emulator.ids["stages"].items()}
    return stages[row.stage_uuid]


def test_review_automation_approves_labelled_and_sends_back_empty_tasks(run_dag, dagbag, xcoms, emulator):
    from airflow_provider_encord.hooks.encord import EncordHook

    ids = emulator.ids
    unlabelled = ids["data_hashes"][0]  # seeded in Annotate without labels
    EncordHook().move_workflow_task(
        project_hash=ids["project_hash"],
        data_hash=unlabelled,
        stage_uuid=ids["stages"]["Annotate"],
        destination_stage_uuid=ids["stages"]["Review"],
    )
    in_review = ids["data_hashes"][4:8]  # seeded in Review, labelled

    dag_run, states = run(run_dag, dagbag, "encord_review_automation", SCHEDULED)
    assert states["approve_labelled"] == "success" and states["send_back_unlabelled"] == "success"
    values = xcoms(dag_run)
    assert sorted(values[("approve_labelled", "return_value")]["moved"]) == sorted(in_review)
    assert values[("send_back_unlabelled", "return_value")]["moved"] == [unlabelled]
    assert {_stage_of(emulator, h) for h in in_review} == {"Complete"}
    assert _stage_of(emulator, unlabelled) == "Annotate"

    # Nothing is left in review: a second run moves nothing and still succeeds.
    again, states = run(run_dag, dagbag, "encord_review_automation", None)
    assert states["approve_labelled"] == "success" and states["send_back_unlabelled"] == "success"
    values = xcoms(again)
    assert values[("review_queue", "return_value")]["label_rows"] == []
    assert values[("approve_labelled", "return_value")]["status"] == "nothing_to_move"
    assert values[("send_back_unlabelled", "return_value")]["status"] == "nothing_to_move"


def _coco(uri: str) -> dict:
    from pycocotools.coco import COCO

    path = uri.removeprefix("file://")
    COCO(path)  # the file is valid COCO
    return json.loads(Path(path).read_text())


def test_export_is_incremental_with_a_logical_date_and_full_without(
    run_dag, dagbag, xcoms, emulator, export_dir
):
    complete = set(emulator.ids["data_hashes"][8:12])
    titles = {emulator.store.data[h]["title"] for h in complete}

    scheduled, _ = run(run_dag, dagbag, "encord_coco_export", SCHEDULED)
    result = xcoms(scheduled)[("export_coco", "return_value")]
    project = emulator.ids["project_hash"]
    assert result["path"] == f"{export_dir.as_uri()}/{project}/20240101T000000.json"
    coco = _coco(result["path"])
    assert {image["file_name"] for image in coco["images"]} == titles
    assert result["images"] == len(coco["images"]) and result["annotations"] == len(coco["annotations"])
    assert sum(result["annotations_per_category"].values()) == result["annotations"]

    # An interval after every seeded edit: nothing new.
    later, _ = run(run_dag, dagbag, "encord_coco_export", datetime(2024, 3, 2, tzinfo=timezone.utc))
    assert xcoms(later)[("export_coco", "return_value")]["images"] == 0

    manual, _ = run(run_dag, dagbag, "encord_coco_export", None)
    full = xcoms(manual)[("export_coco", "return_value")]
    assert full["path"] != result["path"]
    if RUNS_WITHOUT_LOGICAL_DATE:  # no interval: everything is exported
        assert full["images"] == len(titles)
    else:  # Airflow 2: the trigger time's interval, after every seeded edit
        assert full["images"] == 0


def test_asset_event_carries_the_path_and_training_splits_the_export(
    run_dag, dagbag, xcoms, emulator, export_dir
):
    for earlier in export_dir.rglob("*.json"):  # the training DAG picks the newest export: start clean
        earlier.unlink()
    export_run, _ = run(run_dag, dagbag, "encord_coco_export", SCHEDULED)  # the interval of the seeded edits
    export = xcoms(export_run)[("export_coco", "return_value")]
    assert export["annotations"] > 0

    for logical_date in (None, datetime(2024, 1, 3, 1, tzinfo=timezone.utc)):
        training, _ = run(run_dag, dagbag, "encord_coco_training", logical_date)
        # No triggering asset event in a test run: the newest export is used.
        assert xcoms(training)[("locate_export", "return_value")] >= export["path"]
        split = xcoms(training)[("split_for_training", "return_value")]
        train, val = _coco(split["train"]["path"]), _coco(split["val"]["path"])
        source = _coco(split["source"])
        assert len(train["images"]) + len(val["images"]) == len(source["images"])
        assert len(train["annotations"]) + len(val["annotations"]) == len(source["annotations"])
        assert sum(split["annotations_per_category"].values()) == len(source["annotations"])


@pytest.mark.parametrize("logical_date", [SCHEDULED, None], ids=["logical-date", "no-logical-date"])
def test_the_export_emits_an_asset_event_with_the_file(run_dag, dagbag, emulator, export_dir, logical_date):
    from airflow.utils.session import create_session

    try:
        from airflow.models.asset import AssetEvent, AssetModel
    except ImportError:  # Airflow 2
        from airflow.models.dataset import DatasetEvent as AssetEvent
        from airflow.models.dataset import DatasetModel as AssetModel

    run(run_dag, dagbag, "encord_coco_export", logical_date)
    with create_session() as session:
        asset = session.query(AssetModel).filter(AssetModel.uri == export_dir.as_uri()).one()
        column = AssetEvent.asset_id if hasattr(AssetEvent, "asset_id") else AssetEvent.dataset_id
        event = session.query(AssetEvent).filter(column == asset.id).order_by(AssetEvent.id.desc()).first()
        assert event is not None
        assert event.extra["path"].startswith(export_dir.as_uri())
        # Airflow 2 gives a run without a logical date the trigger time's interval: no edit in it.
        exported = 4 if logical_date or RUNS_WITHOUT_LOGICAL_DATE else 0
        assert (
            event.extra["images"] == exported and event.extra["project_hash"] == emulator.ids["project_hash"]
        )


@pytest.mark.parametrize("logical_date", [SCHEDULED, None], ids=["logical-date", "no-logical-date"])
def test_inventory_reads_everything_and_changes_nothing(run_dag, dagbag, xcoms, emulator, logical_date):
    dag_run, states = run(run_dag, dagbag, "encord_inventory", logical_date)
    assert set(states.values()) == {"success"}
    report = xcoms(dag_run)[("report", "return_value")]
    store = emulator.store
    assert report["projects"] == len(store.projects)
    assert report["ontologies"] == len(store.ontologies)
    assert report["groups"] == len(store.groups)
    assert report["stages"] == 3
    assert report["labelled_rows"] == len(emulator.ids["label_hashes"])
    top = emulator.ids["storage_folders"]["Demo data"]
    assert report["folder_items"] == sum(1 for item in store.items.values() if item["parent"] == top)
    writes = [r.route for r in emulator.requests if (r.query_method or r.method) != "GET"]
    assert writes == []
