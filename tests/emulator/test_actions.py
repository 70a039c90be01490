"""The real SDK performs the provider's actions against the emulator."""

from __future__ import annotations

import dataclasses
from uuid import UUID, uuid4

import pytest
from encord.exceptions import InvalidArgumentsError, ResourceNotFoundError
from encord.orm.dataset import StorageLocation
from encord.orm.label_row import AnnotationTaskStatus
from encord.utilities.project_user import ProjectUserRole

from tests.emulator.conftest import sdk_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_creates_are_visible_to_later_reads(client, encord_emulator):
    dataset = client.create_dataset("Fresh dataset", StorageLocation.AWS, "new")
    ontology = client.create_ontology(
        "Fresh ontology", "desc", client.get_ontology(encord_emulator.ids["ontology_hash"]).structure
    )
    project_hash = client.create_project(
        "Fresh project", [dataset.dataset_hash], ontology_hash=ontology.ontology_hash
    )
    folder = client.create_storage_folder(
        "Fresh folder", parent_folder=UUID(encord_emulator.ids["storage_folder_uuid"])
    )

    assert client.get_dataset(dataset.dataset_hash, include_data_rows=False).title == "Fresh dataset"
    assert dataset.backing_folder_uuid is not None
    assert [o["ontology"].title for o in client.get_ontologies(title_like="Fresh%")] == ["Fresh ontology"]
    project = client.get_project(project_hash)
    assert (project.title, project.ontology_hash) == ("Fresh project", ontology.ontology_hash)
    assert [s.title for s in project.workflow.stages] == ["Annotate", "Review", "Complete"]
    assert "Fresh folder" in [f.name for f in client.find_storage_folders(search="fresh")]
    assert client.get_storage_folder(folder.uuid).parent.uuid == UUID(
        encord_emulator.ids["storage_folder_uuid"]
    )


def test_create_project_with_unknown_dataset_fails(client):
    with pytest.raises(ResourceNotFoundError):
        client.create_project("Broken", ["00000000-0000-4000-8000-000000000000"])


def test_add_users_keeps_the_first_role_and_lists_all_users(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", max_page_size=1)
    project = sdk_client(emu).get_project(emu.ids["project_hash"])

    added = project.add_users(["new@example.com", emu.ids["annotator_email"]], ProjectUserRole.REVIEWER)

    assert {(u.user_email, u.user_role) for u in added} == {
        ("new@example.com", ProjectUserRole.REVIEWER),
        (emu.ids["annotator_email"], ProjectUserRole.ANNOTATOR),
    }
    users = {u.user_email: u.user_role for u in project.list_users()}
    assert users == {
        emu.owner_email: ProjectUserRole.ADMIN,
        emu.ids["annotator_email"]: ProjectUserRole.ANNOTATOR,
        "new@example.com": ProjectUserRole.REVIEWER,
    }
    assert len([r for r in emu.requests if r.route == "v2:GET:/projects/{p}/users"]) == 3


def test_list_groups_and_paged_groups(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", max_page_size=2)
    client = sdk_client(emu)
    from encord.orm.base_dto import BaseDTO
    from encord.orm.group import Group as OrmGroup

    class Params(BaseDTO):
        page_token: str | None = None

    first_page = [g.name for g in client.list_groups()]
    every = [
        g.name
        for g in client._api_client.get_paged_iterator(
            "user/current-organisation/groups", params=Params(), result_type=OrmGroup
        )
    ]
    assert first_page == ["Annotators", "Reviewers"]
    assert every == ["Annotators", "Reviewers", "ML engineers"]


def test_storage_folders_and_items(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", max_page_size=2)
    client = sdk_client(emu)

    top = sorted(f.name for f in client.list_storage_folders())
    everywhere = sorted(f.name for f in client.find_storage_folders())
    assert top == ["Demo data", "Scratch"]
    assert everywhere == ["Demo data", "Scratch", "archive", "images", "medical", "videos"]
    assert [f.name for f in client.find_storage_folders(search="arch")] == ["archive"]
    children = client.get_storage_folder(UUID(emu.ids["storage_folder_uuid"])).list_subfolders()
    assert [f.name for f in children] == ["images", "medical", "videos"]  # direct children, over 2 pages

    folder = client.get_storage_folder(UUID(emu.ids["storage_folder_uuid"]))
    from encord.orm.storage import StorageItemType

    images = list(
        client.get_storage_folder(UUID(emu.ids["storage_folders"]["images"])).list_items(
            item_types=[StorageItemType.IMAGE]
        )
    )
    assert len(images) == 12
    assert {i.width for i in images} == {640, 1280, 1920}
    medical = client.get_storage_folder(UUID(emu.ids["storage_folders"]["medical"]))
    kinds = {i.item_type.value for i in medical.list_items(item_types=list(StorageItemType))}
    assert kinds == {"dicomSeries", "pdf"}
    assert [i.name for i in folder.list_items(search="notes")] == ["notes.txt"]
    assert [i.name for i in folder.list_items(search="drive")] == []


def test_backing_folders_are_synced_with_their_dataset(client, encord_emulator):
    ids = encord_emulator.ids
    images = client.get_storage_folder(UUID(ids["storage_folders"]["images"]))
    assert images.path_to_root[0].synced_dataset_hash == UUID(ids["dataset_hash"])
    assert [f.name for f in client.find_storage_folders(dataset_synced=True)] == ["images"]

    fresh = client.create_dataset("Fresh dataset", StorageLocation.AWS)

    synced = client.find_storage_folders(dataset_synced=True)
    assert sorted(f.name for f in synced) == ["Fresh dataset", "images"]
    backing = client.get_storage_folder(fresh.backing_folder_uuid)
    assert backing.path_to_root[0].synced_dataset_hash == UUID(fresh.dataset_hash)
    assert "images" not in [f.name for f in client.find_storage_folders(dataset_synced=False)]


def test_list_label_rows_filters(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])
    rows = project.list_label_rows_v2()
    assert len(rows) == 12
    assert sum(r.label_hash is None for r in rows) == 2
    assert {r.workflow_graph_node.title for r in rows} == {"Annotate", "Review", "Complete"}
    assert len(project.list_label_rows_v2(workflow_graph_node_title_eq="Review")) == 4
    assert [r.data_title for r in project.list_label_rows_v2(data_title_like="%_11.jpg")] == ["street_11.jpg"]
    newest = project.list_label_rows_v2(edited_after="2024-01-01T02:50:00+00:00")
    assert [r.data_title for r in newest] == ["street_11.jpg"]

    qa = client.get_project(encord_emulator.ids["manual_qa_project_hash"])
    completed = qa.list_label_rows_v2(label_statuses=[AnnotationTaskStatus.COMPLETED])
    assert len(completed) == 2
    assert {r.label_status.value for r in completed} == {"REVIEWED", "REVIEWED_TWICE"}


def test_bundled_label_fetch_returns_real_label_json(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo")
    project = sdk_client(emu).get_project(emu.ids["project_hash"])
    rows = [r for r in project.list_label_rows_v2() if r.label_hash]
    emu.clear_requests()

    with project.create_bundle(bundle_size=4) as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)

    label_gets = [r for r in emu.requests if r.route == "rpc:labelrow:GET"]
    assert [len(r.body["values"]["uid"]) for r in label_gets] == [4, 4, 2]
    feature_hashes = {o["featureNodeHash"] for o in project.ontology_structure.to_dict()["objects"]}
    for row in rows:
        unit = row.to_encord_dict()["data_units"][row.data_hash]
        assert (unit["width"], unit["height"]) in {(640, 480), (1280, 720), (1920, 1080)}
        for obj in unit["labels"]["objects"]:
            assert obj["featureHash"] in feature_hashes
        assert row.get_object_instances()
        [weather] = row.get_classification_instances()
        assert weather.get_answer().label in {"Sunny", "Rainy", "Foggy"}
    assert not [r for r in emu.requests if r.route == "rpc:labelrow:PUT"]


def test_initialising_an_unlabelled_row_sends_a_put_that_creates_it(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])
    row = next(r for r in project.list_label_rows_v2() if r.label_hash is None)

    row.initialise_labels()

    puts = [r for r in encord_emulator.requests if r.route == "rpc:labelrow:PUT"]
    assert len(puts) == 1
    assert row.label_hash is not None
    assert sum(r.label_hash is None for r in project.list_label_rows_v2()) == 1


def _task(project, stage_title, data_hash):
    stage = project.workflow.get_stage(name=stage_title)
    return next(iter(stage.get_tasks(data_hash=data_hash)), None)


def test_workflow_submit_approve_reject_and_move(client, encord_emulator):
    ids = encord_emulator.ids
    project = client.get_project(ids["project_hash"])
    data_hash = ids["data_hashes"][3]

    _task(project, "Annotate", data_hash).submit()
    assert _task(project, "Annotate", data_hash) is None
    _task(project, "Review", data_hash).reject()
    _task(project, "Annotate", data_hash).submit()
    _task(project, "Review", data_hash).approve()
    assert _task(project, "Complete", data_hash) is not None
    _task(project, "Complete", data_hash).move(destination_stage_uuid=UUID(ids["stages"]["Annotate"]))
    assert _task(project, "Annotate", data_hash) is not None
    stage_of_row = {r.data_hash: r.workflow_graph_node.title for r in project.list_label_rows_v2()}
    assert stage_of_row[data_hash] == "Annotate"


def test_workflow_errors(client, encord_emulator):
    ids = encord_emulator.ids
    project = client.get_project(ids["project_hash"])
    data_hash = ids["data_hashes"][0]
    task = _task(project, "Annotate", data_hash)

    assert _task(project, "Annotate", "00000000-0000-4000-8000-000000000000") is None
    task.submit()
    with pytest.raises(InvalidArgumentsError, match="is in stage Review"):
        task.submit()  # the task has left Annotate
    review_task = _task(project, "Review", data_hash)
    with pytest.raises(InvalidArgumentsError, match="not allowed"):
        _submit_in_review(project, review_task)  # a review stage approves or rejects, it does not submit


def test_workflow_unknown_task_and_unknown_stage_are_not_found(client, encord_emulator):
    ids = encord_emulator.ids
    project = client.get_project(ids["project_hash"])
    annotate = project.workflow.get_stage(name="Annotate")
    task = _task(project, "Annotate", ids["data_hashes"][3])
    unknown = uuid4()
    stray = task.model_copy()
    stray._stage_uuid = unknown
    attempts = {
        "unknown task": (task.model_copy(update={"uuid": unknown}).submit, "actions"),
        "unknown stage listed": (
            lambda: list(dataclasses.replace(annotate, uuid=unknown).get_tasks()),
            "tasks",
        ),
        "task of an unknown stage": (stray.submit, "actions"),
        "move to an unknown stage": (lambda: task.move(destination_stage_uuid=unknown), "move-tasks"),
    }
    for name, (attempt, route_end) in attempts.items():
        encord_emulator.clear_requests()
        with pytest.raises(ResourceNotFoundError):
            attempt()
        [request] = encord_emulator.requests  # a 404 is not retried
        assert (request.route.rsplit("/", 1)[-1], request.status) == (route_end, 404), name
    assert _task(project, "Annotate", ids["data_hashes"][3]) is not None  # nothing moved


def _submit_in_review(project, review_task):
    from encord.workflow.stages.annotation import _ActionSubmit

    stage = project.workflow.get_stage(name="Review")
    stage._workflow_client.action(stage.uuid, _ActionSubmit(task_uuid=review_task.uuid))


def test_upload_job_moves_from_pending_to_done(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", upload_polls=2)
    client = sdk_client(emu)
    dataset = client.get_dataset(emu.ids["dataset_hash"], include_data_rows=False)
    files = {
        "images": [{"objectUrl": "s3://bucket/a.jpg"}, {"objectUrl": "s3://bucket/b.jpg", "title": "bee"}]
    }

    job = dataset.add_private_data_to_dataset_start(emu.ids["integration_id"], files)
    statuses = [
        dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0).status.value for _ in range(3)
    ]

    assert statuses == ["PENDING", "PENDING", "DONE"]
    result = dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0)
    assert sorted(d.title for d in result.data_hashes_with_titles) == ["a.jpg", "bee"]
    project = client.get_project(emu.ids["project_hash"])
    titles = {r.data_title: r.label_hash for r in project.list_label_rows_v2()}
    assert titles["bee"] is None and "a.jpg" in titles


def test_dataset_rows_carry_what_their_storage_items_hold(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", upload_polls=0)
    client = sdk_client(emu)
    dataset = client.get_dataset(emu.ids["dataset_hash"], include_data_rows=False)
    metadata = {"camera": "front", "run": 7}
    files = {"images": [{"objectUrl": "s3://bucket/tagged.jpg", "clientMetadata": metadata}]}
    job = dataset.add_private_data_to_dataset_start(emu.ids["integration_id"], files)
    assert dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0).status.value == "DONE"

    rows = {r.title: r for r in client.get_dataset(emu.ids["dataset_hash"]).data_rows}
    folder = client.get_storage_folder(UUID(emu.ids["storage_folders"]["images"]))
    items = {i.uuid: i for i in folder.list_items(get_signed_urls=False)}

    assert len(rows) == 13
    assert dict(rows["tagged.jpg"].client_metadata) == metadata
    assert dict(rows["street_00.jpg"].client_metadata) == {}
    for row in rows.values():
        item = items[row.backing_item_uuid]
        assert (row.file_size, row.file_link) == (item.file_size, item.url)
        assert row.storage_location == StorageLocation.AWS  # the items are on S3
    assert len({r.file_size for r in rows.values()}) > 1


def test_upload_blocking_call_and_errors(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", upload_polls=3)
    dataset = sdk_client(emu).get_dataset(emu.ids["dataset_hash"], include_data_rows=False)

    job = dataset.add_private_data_to_dataset_start(
        emu.ids["integration_id"], {"images": [{"objectUrl": "nope"}]}, ignore_errors=True
    )
    result = dataset.add_private_data_to_dataset_get_result(job)
    assert result.status.value == "DONE" and result.units_error_count == 1
    with pytest.raises(ResourceNotFoundError):
        dataset.add_private_data_to_dataset_start("00000000-0000-4000-8000-000000000000", {"images": []})
