"""The scale seed's images: dataset rows, storage items, uploads and new projects see all of them, and
none is stored; pages of them are made from the page token on, not from the first image."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest
import requests
from encord.orm.storage import StorageItemType

from airflow_provider_encord.testing.emulator._store import GeneratedImages
from tests.emulator.conftest import sdk_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _names(count: int) -> list[str]:
    return [f"scale_{i:07d}.jpg" for i in range(count)]


def test_scale_dataset_rows_are_its_images(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=300)
    client = sdk_client(emu)

    rows = client.get_dataset(emu.ids["dataset_hash"]).data_rows

    assert [r.title for r in rows] == _names(300)
    folder = client.get_storage_folder(UUID(emu.ids["storage_folder_uuid"]))
    first_items = list(itertools.islice(folder.list_items(), 3))
    assert [r.backing_item_uuid for r in rows[:3]] == [i.uuid for i in first_items]
    assert (rows[1].width, rows[1].height, rows[1].file_size) == (1280, 720, 1280 * 720 // 4)
    assert rows[1].file_link == first_items[1].url == "s3://scale-bucket/scale_0000001.jpg"
    assert emu.store.items == {} and emu.store.data == {}  # nothing per image is stored


def test_scale_folder_lists_its_images_in_every_order_over_pages(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=120, max_page_size=25)
    folder = sdk_client(emu).get_storage_folder(UUID(emu.ids["storage_folder_uuid"]))

    assert [i.name for i in folder.list_items()] == _names(120)
    assert [i.name for i in folder.list_items(desc=True)] == _names(120)[::-1]
    assert [i.name for i in folder.list_items(search="00004")] == [_names(50)[4], *_names(50)[40:50]]
    assert [i.name for i in folder.list_items(item_types=[StorageItemType.VIDEO])] == []
    assert {i.item_type for i in folder.list_items(item_types=[StorageItemType.IMAGE])} == {
        StorageItemType.IMAGE
    }
    assert folder.list_items().__next__().width == 640
    pages = [r for r in emu.requests if r.route == "v2:GET:/storage/folders/{f}/items"]
    assert len(pages) > 5  # 120 items at 25 a page, several times


def test_uploads_see_the_generated_images_and_merge_into_the_folder(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=40, upload_polls=0, max_page_size=7)
    client = sdk_client(emu)
    dataset = client.get_dataset(emu.ids["dataset_hash"], include_data_rows=False)
    files = {
        "images": [
            {"objectUrl": "s3://scale-bucket/scale_0000007.jpg"},  # a generated image: a duplicate
            {"objectUrl": "s3://elsewhere/a.jpg"},
            {"objectUrl": "s3://elsewhere/zz.jpg"},
        ],
        "skip_duplicate_urls": True,
    }

    job = dataset.add_private_data_to_dataset_start(emu.ids["integration_id"], files)
    result = dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0)

    assert sorted(d.title for d in result.data_hashes_with_titles) == ["a.jpg", "zz.jpg"]
    titles = [r.title for r in client.get_dataset(emu.ids["dataset_hash"]).data_rows]
    assert titles == [*_names(40), "a.jpg", "zz.jpg"]
    folder = client.get_storage_folder(UUID(emu.ids["storage_folder_uuid"]))
    assert [i.name for i in folder.list_items()] == ["a.jpg", *_names(40), "zz.jpg"]
    assert [i.name for i in folder.list_items(desc=True)] == ["zz.jpg", *_names(40)[::-1], "a.jpg"]
    by_creation = [i.name for i in folder.list_items(order="createdAt")]
    assert by_creation[:40] == _names(40) and sorted(by_creation[40:]) == ["a.jpg", "zz.jpg"]  # added later
    scale = client.get_project(emu.ids["project_hash"])
    assert len(scale.list_label_rows_v2()) == 42  # the project on the dataset got the two new rows


def test_a_project_on_the_scale_dataset_gets_a_row_per_image_without_storing_them(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=100_000)
    client = sdk_client(emu)

    project_hash = client.create_project("On the scale data", [emu.ids["dataset_hash"]])

    stored = emu.store.projects[project_hash].rows
    assert len(stored) == 100_000 and stored.rows == {}
    project = client.get_project(project_hash)
    last = project.list_label_rows_v2(data_title_eq="scale_0099999.jpg")
    assert [(r.data_title, r.label_hash) for r in last] == [("scale_0099999.jpg", None)]
    annotate = project.workflow.get_stage(name="Annotate")
    task = next(iter(annotate.get_tasks(data_hash=last[0].data_hash)))
    task.submit()
    review = project.workflow.get_stage(name="Review")
    assert [t.data_title for t in review.get_tasks()] == ["scale_0099999.jpg"]
    assert len(stored.rows) == 1  # only the row that changed is stored


def _bearer_get(emu, path: str, **params) -> dict:
    answer = requests.get(
        f"{emu.url}/v2/public{path}",
        params=params,
        headers={"Authorization": f"Bearer {emu.bearer_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_page_of_generated_rows_is_made_from_its_token_on(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=100_000, max_page_size=50)
    rows = emu.store.projects[emu.ids["project_hash"]].rows
    made: list[int] = []
    factory = rows.factory
    rows.factory = lambda index: made.append(index) or factory(index)
    path = f"/projects/{emu.ids['project_hash']}/workflow/stages/{emu.ids['stages']['Complete']}/tasks"

    first = _bearer_get(emu, path)
    second = _bearer_get(emu, path, pageToken=first["nextPageToken"])
    deep = _bearer_get(emu, path, pageToken="99990")

    assert [t["dataTitle"] for t in first["results"] + second["results"]] == _names(100)
    assert [t["dataTitle"] for t in deep["results"]] == _names(100_000)[-10:]
    assert deep["nextPageToken"] is None
    # Each page made its rows (and one to see whether another page follows), none before its token.
    assert made == [*range(51), *range(50, 101), *range(99_990, 100_000)]


def test_a_page_of_generated_items_is_made_from_its_token_on(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=100_000, max_page_size=50)
    made: list[int] = []

    class Counted(GeneratedImages):
        def item(self, index: int) -> dict:
            made.append(index)
            return super().item(index)

    [images] = emu.store.generated
    emu.store.generated[0] = Counted(**vars(images))
    path = f"/storage/folders/{emu.ids['storage_folder_uuid']}/items"

    first = _bearer_get(emu, path)
    second = _bearer_get(emu, path, pageToken=first["nextPageToken"])

    assert [i["name"] for i in first["results"] + second["results"]] == _names(100)
    assert made == [*range(51), *range(50, 101)]
    backwards = _bearer_get(emu, path, desc="True", pageToken=first["nextPageToken"])
    assert [i["name"] for i in backwards["results"]] == _names(100_000)[::-1][50:100]
    with pytest.raises(AssertionError, match="400"):
        _bearer_get(emu, path, pageToken="not-a-token")


def test_a_listed_row_that_changes_is_listed_as_it_is_now(encord_emulator_factory):
    """Listing entries of untouched generated rows are kept encoded; a row that changed is listed afresh."""
    emu = encord_emulator_factory(seed="scale", scale_images=30)
    project = sdk_client(emu).get_project(emu.ids["project_hash"])

    def stages() -> dict[str, str]:
        rows = project.list_label_rows_v2(include_workflow_graph_node=True)
        return {row.data_title: row.workflow_graph_node.title for row in rows}

    before = stages()
    assert set(before.values()) == {"Complete"} and len(before) == 30
    complete = project.workflow.get_stage(name="Complete")
    task = next(t for t in complete.get_tasks() if t.data_title == "scale_0000007.jpg")
    task.move(destination_stage_uuid=project.workflow.get_stage(name="Review").uuid)
    after = stages()
    assert after.pop("scale_0000007.jpg") == "Review"
    assert set(after.values()) == {"Complete"}, "the other rows are unchanged"
