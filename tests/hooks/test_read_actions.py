"""The read-only actions, through the real SDK against one shared emulator that pages every two items."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_encord.exceptions import EncordInvalidInputError, EncordNotFoundError
from airflow_provider_encord.hooks.inputs import LABEL_STATUSES

STAGE_OF_ROW = ["Annotate"] * 4 + ["Review"] * 4 + ["Complete"] * 4


def _is_iso(value: str) -> bool:
    datetime.fromisoformat(value)
    return True


def _json_roundtrip(value):
    assert json.loads(json.dumps(value)) == value
    return value


# ---------------------------------------------------------------------------------------------- projects


def test_get_project(read_hook, shared_emulator):
    ids = shared_emulator.ids
    project = _json_roundtrip(read_hook.get_project(ids["project_hash"]))
    assert project["project_hash"] == ids["project_hash"]
    assert project["title"] == "Demo project"
    assert project["ontology_hash"] == ids["ontology_hash"]
    assert project["status"] == "inProgress"
    assert project["project_type"] == "workflow"
    assert isinstance(project["description"], str)
    assert _is_iso(project["created_at"])


def test_list_projects_title_like_is_a_partial_match(read_hook, shared_emulator):
    everything = read_hook.list_projects()["projects"]
    hashes = {p["project_hash"] for p in everything}
    assert {shared_emulator.ids["project_hash"], shared_emulator.ids["manual_qa_project_hash"]} <= hashes
    partial = _json_roundtrip(read_hook.list_projects(title_like="emo proj"))["projects"]
    assert [p["title"] for p in partial] == ["Demo project"]
    assert set(partial[0]) >= {"project_hash", "title", "description", "status", "created_at"}
    assert read_hook.list_projects(title_like="no project has this title")["projects"] == []


def test_get_workflow_stages(read_hook, shared_emulator):
    stages = _json_roundtrip(read_hook.get_workflow_stages(shared_emulator.ids["project_hash"]))["stages"]
    assert [(s["title"], s["stage_type"]) for s in stages] == [
        ("Annotate", "ANNOTATION"),
        ("Review", "REVIEW"),
        ("Complete", "DONE"),
    ]
    assert {s["title"]: s["uuid"] for s in stages} == shared_emulator.ids["stages"]


def test_get_workflow_stages_of_manual_qa_project_is_a_clear_error(read_hook, shared_emulator):
    with pytest.raises(EncordInvalidInputError, match="manual QA, not a workflow"):
        read_hook.get_workflow_stages(shared_emulator.ids["manual_qa_project_hash"])


def test_list_project_users(read_hook, shared_emulator):
    users = _json_roundtrip(read_hook.list_project_users(shared_emulator.ids["project_hash"]))["users"]
    roles = {u["user_email"]: u["user_role"] for u in users}
    assert roles[shared_emulator.ids["owner_email"]] == "admin"
    assert roles[shared_emulator.ids["annotator_email"]] == "annotator"


# ---------------------------------------------------------------------------------------------- datasets


def test_list_datasets_partial_title(read_hook, shared_emulator):
    datasets = _json_roundtrip(read_hook.list_datasets(title_like="mo data"))["datasets"]
    assert [d["dataset_hash"] for d in datasets] == [shared_emulator.ids["dataset_hash"]]
    assert set(datasets[0]) >= {"dataset_hash", "title", "description", "created_at"}
    assert _is_iso(datasets[0]["created_at"])


def test_an_underscore_in_title_like_is_not_a_wildcard(read_hook, shared_emulator):
    # As a LIKE wildcard, "o_d" would match "Dem(o d)ataset"; as text it matches nothing here.
    assert read_hook.list_datasets(title_like="o_d")["datasets"] == []
    rows = read_hook.list_label_rows(shared_emulator.ids["project_hash"], data_title_like="street_0")
    assert rows["label_rows"] and all("street_0" in r["data_title"] for r in rows["label_rows"])
    assert read_hook.list_datasets(title_like="Dem%set")["datasets"], "text with % stays a LIKE pattern"


def test_get_dataset_never_fetches_data_rows(read_hook, shared_emulator):
    dataset = _json_roundtrip(read_hook.get_dataset(shared_emulator.ids["dataset_hash"]))
    assert dataset["dataset_hash"] == shared_emulator.ids["dataset_hash"]
    assert dataset["title"] == "Demo dataset"
    assert "description" in dataset
    [request] = [r for r in shared_emulator.requests if r.query_type == "dataset"]
    body = request.body if isinstance(request.body, dict) else json.loads(request.body)
    assert body["values"]["payload"]["dataset_access_settings"]["fetch_rows"] is False


# ---------------------------------------------------------------------------------- paged organisation lists


def test_list_groups_reads_every_page(read_hook, shared_emulator):
    """The SDK's list_groups stops after the first page; the hook must not."""
    sdk_groups = list(read_hook.get_conn().list_groups())
    groups = _json_roundtrip(read_hook.list_groups())["groups"]
    assert len(sdk_groups) == 2, "the emulator pages every two items and the SDK reads one page"
    assert sorted(g["group_hash"] for g in groups) == sorted(shared_emulator.ids["group_hashes"])
    assert len(groups) > len(sdk_groups)
    assert all(set(g) >= {"group_hash", "name"} for g in groups)


def test_list_ontologies_reads_every_page(encord_emulator_factory, make_hook):
    """The SDK's get_ontologies returns the first page only; the hook follows every page token."""
    emulator = encord_emulator_factory(seed="demo", max_page_size=1)
    hook = make_hook(emulator)
    assert len(hook.get_conn().get_ontologies()) == 1
    emulator.clear_requests()
    everything = _json_roundtrip(hook.list_ontologies())["ontologies"]
    assert len(everything) == len(emulator.store.ontologies) >= 2
    assert emulator.ids["ontology_hash"] in {o["ontology_hash"] for o in everything}
    pages = [r for r in emulator.requests if r.path.endswith("/ontologies")]
    assert len(pages) == len(everything), "one request per page of one"


def test_list_ontologies_partial_title(read_hook):
    found = read_hook.list_ontologies(title_like="raffic")["ontologies"]
    assert [o["title"] for o in found] == ["Traffic signs ontology"]
    assert set(found[0]) >= {"ontology_hash", "title", "description"}


def test_get_ontology(read_hook, shared_emulator):
    ontology = _json_roundtrip(read_hook.get_ontology(shared_emulator.ids["ontology_hash"]))
    assert ontology["title"] == "Demo ontology"
    assert "description" in ontology
    objects = {o["name"]: o["shape"] for o in ontology["structure"]["objects"]}
    assert objects == {"Car": "bounding_box", "Road": "polygon", "Pedestrian": "point"}
    assert [c["attributes"][0]["name"] for c in ontology["structure"]["classifications"]] == ["Weather"]


# ---------------------------------------------------------------------------------------------- storage


def test_list_storage_folders_is_recursive_and_searchable(read_hook, shared_emulator):
    folders = _json_roundtrip(read_hook.list_storage_folders())["folders"]
    by_name = {f["name"]: f for f in folders}
    assert by_name["Demo data"]["uuid"] == shared_emulator.ids["storage_folder_uuid"]
    assert any(f["parent_folder_uuid"] for f in folders), "sub-folders are listed too"
    assert all(set(f) >= {"uuid", "name", "description"} for f in folders)
    searched = read_hook.list_storage_folders(search="Demo")["folders"]
    assert [f["name"] for f in searched] == ["Demo data"]


def test_list_storage_items(read_hook, shared_emulator):
    items = _json_roundtrip(read_hook.list_storage_items(shared_emulator.ids["storage_folder_uuid"]))["items"]
    assert items, "the demo folder holds items"
    assert all(set(i) >= {"uuid", "name", "item_type"} for i in items)
    assert "plainText" in {i["item_type"] for i in items}
    only = read_hook.list_storage_items(shared_emulator.ids["storage_folder_uuid"], search="notes")["items"]
    assert [i["name"] for i in only] == ["notes.txt"]


def test_list_storage_items_unknown_folder(read_hook):
    with pytest.raises(EncordNotFoundError):
        read_hook.list_storage_items("00000000-0000-4000-8000-000000000000")


# ---------------------------------------------------------------------------------------------- label rows


def test_label_rows_of_a_workflow_project_have_derived_statuses(read_hook, shared_emulator):
    """The SDK raises on the status of a workflow project's row; the hook derives it from the stage."""
    from encord.exceptions import WrongProjectTypeError

    ids = shared_emulator.ids
    sdk_row = read_hook.get_project_object(ids["project_hash"]).list_label_rows_v2()[0]
    with pytest.raises(WrongProjectTypeError):
        _ = sdk_row.label_status

    rows = _json_roundtrip(read_hook.list_label_rows(ids["project_hash"]))["label_rows"]
    by_data = {r["data_hash"]: r for r in rows}
    assert list(by_data) == ids["data_hashes"]
    expected_task_status = {"Annotate": "QUEUED", "Review": "IN_REVIEW", "Complete": "COMPLETED"}
    for index, data_hash in enumerate(ids["data_hashes"]):
        row = by_data[data_hash]
        stage = STAGE_OF_ROW[index]
        assert row["workflow_stage"] == {"uuid": ids["stages"][stage], "title": stage}
        assert row["annotation_task_status"] == expected_task_status[stage]
        assert row["label_status"] == ("NOT_LABELLED" if index < 2 else "LABELLED")
        assert (row["label_hash"] is None) == (index < 2)
        assert set(row) >= {"label_hash", "data_hash", "data_title", "created_at"}


def test_label_row_filters(read_hook, shared_emulator):
    ids = shared_emulator.ids
    project = ids["project_hash"]
    completed = read_hook.list_label_rows(project, label_statuses=["completed"])["label_rows"]
    assert [r["data_hash"] for r in completed] == ids["data_hashes"][8:]
    unlabelled = read_hook.list_label_rows(project, label_statuses="NOT_LABELLED")["label_rows"]
    assert [r["data_hash"] for r in unlabelled] == ids["data_hashes"][:2]
    by_title = read_hook.list_label_rows(project, workflow_stage="Review")["label_rows"]
    by_uuid = read_hook.list_label_rows(project, workflow_stage=ids["stages"]["Review"])["label_rows"]
    assert [r["data_hash"] for r in by_title] == [r["data_hash"] for r in by_uuid] == ids["data_hashes"][4:8]
    titled = read_hook.list_label_rows(project, data_title_like="eet_0")["label_rows"]
    assert titled and all("eet_0" in r["data_title"] for r in titled)
    future = datetime.now(timezone.utc) + timedelta(days=365)
    assert read_hook.list_label_rows(project, edited_after=future)["label_rows"] == []
    assert len(read_hook.list_label_rows(project, edited_before=future.isoformat())["label_rows"]) == 12


def test_label_row_edit_intervals_are_half_open(read_hook, shared_emulator):
    """[edited_after, edited_before): a row edited exactly at a boundary is in the later interval only."""
    project = shared_emulator.ids["project_hash"]
    labelled = [r for r in read_hook.list_label_rows(project)["label_rows"] if r["last_edited_at"]]
    edge = labelled[len(labelled) // 2]
    at = edge["last_edited_at"]
    before = read_hook.list_label_rows(project, edited_before=at)["label_rows"]
    after = read_hook.list_label_rows(project, edited_after=at)["label_rows"]
    assert edge["data_hash"] in [r["data_hash"] for r in after]
    assert edge["data_hash"] not in [r["data_hash"] for r in before]
    assert not {r["data_hash"] for r in before} & {r["data_hash"] for r in after}


def test_label_row_filter_errors(read_hook, shared_emulator):
    ids = shared_emulator.ids
    with pytest.raises(EncordInvalidInputError, match="DONE"):
        read_hook.list_label_rows(ids["project_hash"], label_statuses=["DONE"])
    assert shared_emulator.requests == [], "a bad status is refused before any request"
    with pytest.raises(EncordNotFoundError, match="Annotate"):
        read_hook.list_label_rows(ids["project_hash"], workflow_stage="Labelling")
    with pytest.raises(EncordInvalidInputError, match="manual QA"):
        read_hook.list_label_rows(ids["manual_qa_project_hash"], workflow_stage="Review")


def test_label_rows_of_a_manual_qa_project_keep_encord_statuses(read_hook, shared_emulator):
    rows = read_hook.list_label_rows(shared_emulator.ids["manual_qa_project_hash"])["label_rows"]
    assert rows
    assert all(r["workflow_stage"] is None for r in rows)
    assert {r["label_status"] for r in rows} <= set(LABEL_STATUSES)
    assert len({r["label_status"] for r in rows}) > 1, "the seed mixes statuses"
    in_progress = read_hook.list_label_rows(
        shared_emulator.ids["manual_qa_project_hash"], label_statuses=["LABEL_IN_PROGRESS"]
    )["label_rows"]
    assert in_progress and all(r["label_status"] == "LABEL_IN_PROGRESS" for r in in_progress)


# ------------------------------------------------------------------------------------------ sensor condition


def test_check_label_status(read_hook, shared_emulator):
    ids = shared_emulator.ids
    project = ids["project_hash"]
    default = _json_roundtrip(read_hook.check_label_status(project))
    assert (default["done"], default["matched"], default["total"]) == (False, 4, 12)
    assert len(default["label_hashes"]) == 4
    assert read_hook.check_label_status(project, min_count=4)["done"]
    assert not read_hook.check_label_status(project, min_count=5)["done"]
    assert read_hook.check_label_status(project, data_hashes=ids["data_hashes"][8:])["done"]
    assert not read_hook.check_label_status(project, data_hashes=ids["data_hashes"][7:])["done"]
    reviewed = read_hook.check_label_status(project, target_statuses=["IN_REVIEW", "COMPLETED"])
    assert reviewed["matched"] == 8
    labelled = read_hook.check_label_status(project, target_statuses=["LABELLED"])
    assert labelled["matched"] == 10


def test_check_label_status_through_stage(read_hook, shared_emulator):
    ids = shared_emulator.ids
    through_annotate = read_hook.check_label_status(ids["project_hash"], through_stage="Annotate")
    assert (through_annotate["done"], through_annotate["matched"]) == (False, 8)
    through_review = read_hook.check_label_status(ids["project_hash"], through_stage=ids["stages"]["Review"])
    assert (through_review["done"], through_review["matched"]) == (False, 4)
    past_review = read_hook.check_label_status(
        ids["project_hash"], through_stage="Review", data_hashes=ids["data_hashes"][8:]
    )
    assert past_review["done"]


def test_check_label_status_errors(read_hook, shared_emulator):
    ids = shared_emulator.ids
    with pytest.raises(EncordInvalidInputError, match="target_statuses='FINISHED'"):
        read_hook.check_label_status(ids["project_hash"], target_statuses=["FINISHED"])
    with pytest.raises(EncordInvalidInputError, match="min_count"):
        read_hook.check_label_status(ids["project_hash"], min_count=-1)
    unknown = "00000000-0000-4000-8000-000000000001"
    with pytest.raises(EncordNotFoundError, match=unknown):
        read_hook.check_label_status(ids["project_hash"], data_hashes=[unknown])
    with pytest.raises(EncordInvalidInputError, match="manual QA"):
        read_hook.check_label_status(ids["manual_qa_project_hash"], through_stage="Review")


# ---------------------------------------------------------------------------------------------- COCO


def test_export_coco_is_valid_coco_and_creates_no_label_rows(read_hook, shared_emulator):
    from pycocotools.coco import COCO

    coco = _json_roundtrip(read_hook.export_coco_labels(shared_emulator.ids["project_hash"]))["coco_labels"]
    assert coco["images"] and coco["annotations"] and coco["categories"]
    assert min(a["id"] for a in coco["annotations"]) >= 1
    api = COCO()
    api.dataset = coco
    api.createIndex()
    assert set(api.getImgIds()) == {i["id"] for i in coco["images"]}
    writes = [r for r in shared_emulator.requests if r.query_type == "labelrow" and r.query_method != "GET"]
    assert writes == [], "the export must not create label rows"


def test_export_coco_filters(read_hook, shared_emulator):
    ids = shared_emulator.ids
    all_images = read_hook.export_coco_labels(ids["project_hash"])["coco_labels"]["images"]
    some = read_hook.export_coco_labels(ids["project_hash"], label_hashes=ids["label_hashes"][:2])
    assert 0 < len(some["coco_labels"]["images"]) < len(all_images)
    with pytest.raises(EncordInvalidInputError, match="bundle_size"):
        read_hook.export_coco_labels(ids["project_hash"], bundle_size=5000)


def test_export_coco_to_file(read_hook, shared_emulator):
    out = io.BytesIO()
    counts = read_hook.export_coco_to_file(
        shared_emulator.ids["project_hash"], out, workflow_stage="Complete"
    )
    written = json.loads(out.getvalue())
    assert counts["images"] == len(written["images"]) > 0
    assert counts["annotations"] == len(written["annotations"])
