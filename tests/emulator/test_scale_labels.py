"""The scale seed's pre-encoded labels: the same content as ``random_labels``, and what the SDK reads."""

from __future__ import annotations

import random
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


@pytest.mark.parametrize("n_objects", [0, 1, 5, 12])
def test_templates_give_the_labels_random_labels_gives(n_objects):
    templates = ScaleLabels(EDITOR, n_objects, "owner@example.com", WHEN)
    for index in range(40):
        key = f"label-{index}"
        expected = random_labels(EDITOR, random.Random(index), n_objects, "owner@example.com", WHEN, key)
        encoded = orjson.loads(dumps(templates.labels(index, key)))
        assert encoded == expected
    assert encoded["objects"] or n_objects == 0


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
