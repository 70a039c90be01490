"""Time and stage filters, driven through the SDK on both transports.

``*_after`` is inclusive and ``*_before`` exclusive on both; a row without a label reports no
``last_edited_at`` and counts as never edited: it passes every ``edited_before`` and no ``edited_after``.
In the demo project, labelled row ``i`` (2 to 11) was last edited at 01:00 + 10·i minutes on 2024-01-01;
rows 0 and 1 are unlabelled.
"""

from __future__ import annotations

import pytest

from airflow_provider_encord.testing.emulator._store import seed_time

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _row_edited(i: int) -> str:
    return seed_time(60 + 10 * i).isoformat()


def _titles(rows) -> list[str]:
    return sorted(r.data_title for r in rows)


def test_rpc_edited_before_is_strict_and_edited_after_inclusive(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])

    strictly_before = project.list_label_rows_v2(edited_before=_row_edited(3))
    assert _titles(r for r in strictly_before if r.label_hash) == ["street_02.jpg"]
    assert _titles(project.list_label_rows_v2(edited_after=_row_edited(10))) == [
        "street_10.jpg",
        "street_11.jpg",
    ]
    window = project.list_label_rows_v2(edited_after=_row_edited(4), edited_before=_row_edited(6))
    assert _titles(window) == ["street_04.jpg", "street_05.jpg"]
    assert project.list_label_rows_v2(edited_after=_row_edited(5), edited_before=_row_edited(5)) == []


def test_rpc_unlabelled_rows_count_as_never_edited(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])
    unlabelled = [r for r in project.list_label_rows_v2() if r.label_hash is None]
    assert _titles(unlabelled) == ["street_00.jpg", "street_01.jpg"]
    assert all(r.last_edited_at is None for r in unlabelled)

    # Their data units were added at 01:00 and 01:10, but they were never edited: older than any bound.
    assert _titles(project.list_label_rows_v2(edited_before=seed_time(0).isoformat())) == _titles(unlabelled)
    assert _titles(project.list_label_rows_v2(edited_before=_row_edited(3))) == [
        "street_00.jpg",
        "street_01.jpg",
        "street_02.jpg",
    ]
    every_edited = project.list_label_rows_v2(edited_after=seed_time(0).isoformat())
    assert len(every_edited) == 10 and all(r.label_hash is not None for r in every_edited)


def test_v2_edited_and_created_bounds(client):
    # "Demo ontology" was created and last edited at 00:00, "Traffic signs ontology" at 00:01.
    boundary = seed_time(1)

    def titles(**filters):
        return sorted(o["ontology"].title for o in client.get_ontologies(**filters))

    assert titles(edited_before=boundary) == ["Demo ontology"]
    assert titles(edited_after=boundary) == ["Traffic signs ontology"]
    assert titles(created_before=boundary) == ["Demo ontology"]
    assert titles(created_after=boundary) == ["Traffic signs ontology"]
    assert titles(edited_after=seed_time(0), edited_before=boundary) == ["Demo ontology"]
    assert titles(edited_after=boundary, edited_before=boundary) == []
    # Datasets: "Demo dataset" at 00:08, "Empty dataset" at 00:09.
    before = [d["dataset"].title for d in client.get_datasets(edited_before=seed_time(9))]
    assert before == ["Demo dataset"]


def test_workflow_graph_node_title_like(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])

    review = project.list_label_rows_v2(workflow_graph_node_title_like="rev%")
    assert {r.workflow_graph_node.title for r in review} == {"Review"}
    assert len(review) == 4
    both = project.list_label_rows_v2(workflow_graph_node_title_like="%te")  # Annotate, Complete
    assert {r.workflow_graph_node.title for r in both} == {"Annotate", "Complete"} and len(both) == 8
    assert project.list_label_rows_v2(workflow_graph_node_title_like="Annota_") == []  # one letter short
    assert len(project.list_label_rows_v2(workflow_graph_node_title_like="Annotat_")) == 4
