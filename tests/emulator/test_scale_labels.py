"""The scale seed's pre-encoded labels: the same content as ``random_labels``, and what the SDK reads."""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone

import orjson
import pytest

from airflow_provider_encord.testing.emulator._labels import ScaleLabels, ontology_editor, random_labels
from airflow_provider_encord.testing.emulator._server import dumps

WHEN = datetime(2024, 1, 1, tzinfo=timezone.utc)
EDITOR = ontology_editor(
    "Every shape",
    [
        ("Car", "bounding_box"),
        ("Road", "polygon"),
        ("Person", "point"),
        ("Lane", "polyline"),
        ("Box", "cuboid"),
    ],
    [("Weather", ["Sunny", "Rainy", "Foggy 100%"]), ("Empty", [])],
)


def _shape_of(obj):
    return {key for key in ("boundingBox", "polygon", "point", "polyline") if key in obj}


@pytest.mark.parametrize("n_objects", [0, 1, 5, 12])
def test_scale_labels_have_the_form_random_labels_gives(n_objects):
    templates = ScaleLabels(EDITOR, n_objects, "owner@example.com", WHEN)
    hashes = set()
    for index in range(300):
        reference = random_labels(EDITOR, random.Random(index), n_objects, "owner@example.com", WHEN, "key")
        labels = orjson.loads(dumps(templates.labels(index)))
        assert labels == orjson.loads(dumps(templates.labels(index)))  # the same index, the same labels
        assert set(labels) == set(reference)
        assert len(labels["objects"]) == len(reference["objects"])
        for ours, theirs in zip(labels["objects"], reference["objects"], strict=True):
            assert set(ours) == set(theirs)
            assert _shape_of(ours) == _shape_of(theirs)
            assert {k: v for k, v in ours.items() if k not in ("objectHash",) and not _shape_of({k: v})} == {
                k: v for k, v in theirs.items() if k not in ("objectHash",) and not _shape_of({k: v})
            }
            (shape,) = _shape_of(ours)
            coordinates = (
                [v for point in ours[shape].values() for v in point.values()]
                if shape != "boundingBox"
                else list(ours[shape].values())
            )
            assert coordinates and all(0.0 <= v <= 1.0 for v in coordinates)
        assert list(labels["object_answers"]) == [obj["objectHash"] for obj in labels["objects"]]
        assert [c["featureHash"] for c in labels["classifications"]] == [
            c["featureHash"] for c in reference["classifications"]
        ]
        for answer in labels["classification_answers"].values():
            assert answer["classifications"][0]["answers"][0]["name"] in ("Sunny", "Rainy", "Foggy 100%")
        row_hashes = list(labels["object_answers"]) + list(labels["classification_answers"])
        assert all(re.fullmatch(r"[0-9a-f]{8}", h) for h in row_hashes)
        hashes.update(row_hashes)
    assert len(hashes) == 300 * (len(reference["objects"]) + len(reference["classifications"]))


def test_the_sdk_reads_the_scale_labels(encord_emulator_factory):
    from encord import EncordUserClient

    emulator = encord_emulator_factory(seed="scale", scale_images=20, scale_objects=4)
    client = EncordUserClient.create_with_ssh_private_key(emulator.private_key, domain=emulator.url)
    project = client.get_project(emulator.ids["project_hash"])
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    assert len(rows) == 20
    shapes = {type(obj.get_annotations()[0].coordinates).__name__ for obj in rows[7].get_object_instances()}
    assert shapes == {"BoundingBoxCoordinates", "PolygonCoordinates", "PointCoordinate"}
    assert all(len(row.get_object_instances()) == 4 for row in rows)
    assert all(len(row.get_classification_instances()) == 1 for row in rows)


def test_label_row_save_accepts_a_list_of_uids_and_a_single_uid(encord_emulator):
    from encord import EncordUserClient
    from encord.objects.coordinates import BoundingBoxCoordinates
    from encord.objects.ontology_object_instance import ObjectInstance

    client = EncordUserClient.create_with_ssh_private_key(
        encord_emulator.private_key, domain=encord_emulator.url
    )
    project = client.get_project(encord_emulator.ids["project_hash"])
    rows = [r for r in project.list_label_rows_v2() if r.label_hash is not None][:2]
    car = project.ontology_structure.get_child_by_title("Car")
    before = []
    for row in rows:
        row.initialise_labels()
        before.append(len(row.get_object_instances()))
        instance = ObjectInstance(car)
        instance.set_for_frames(BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.3, top_left_y=0.4))
        row.add_object_instance(instance)
    rows[0].save()  # uid sent as a list: ["<label hash>"]
    with project.create_bundle() as bundle:
        rows[1].save(bundle=bundle)
    project._client.save_label_row(rows[0].label_hash, rows[0].to_encord_dict())  # uid sent as a string

    posts = [w for w in encord_emulator.store.label_row_writes if w[1] == "POST"]
    assert [type(uid) for _, _, uid in posts] == [list, list, str]
    assert posts[0][2] == [rows[0].label_hash]
    for row, count in zip(rows, before, strict=True):
        fresh = project.list_label_rows_v2(label_hashes=[row.label_hash])[0]
        fresh.initialise_labels()
        boxes = [o for o in fresh.get_object_instances() if o.object_name == "Car"]
        assert len(fresh.get_object_instances()) == count + 1
        assert any(
            b.get_annotations()[0].coordinates == BoundingBoxCoordinates(0.1, 0.2, 0.3, 0.4) for b in boxes
        )


def test_a_multi_row_save_naming_an_unknown_row_saves_nothing(encord_emulator):
    from encord import EncordUserClient
    from encord.exceptions import ResourceNotFoundError

    client = EncordUserClient.create_with_ssh_private_key(
        encord_emulator.private_key, domain=encord_emulator.url
    )
    project = client.get_project(encord_emulator.ids["project_hash"])
    row = next(r for r in project.list_label_rows_v2() if r.label_hash is not None)
    row.initialise_labels()
    edited = project.list_label_rows_v2(label_hashes=[row.label_hash])[0].last_edited_at
    with pytest.raises(ResourceNotFoundError, match="not-a-label"):
        project._client.save_label_rows(
            [row.label_hash, "not-a-label"], [row.to_encord_dict(), row.to_encord_dict()]
        )
    assert project.list_label_rows_v2(label_hashes=[row.label_hash])[0].last_edited_at == edited
