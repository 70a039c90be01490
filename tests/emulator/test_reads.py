"""The real SDK reads projects, datasets and ontologies from the demo seed."""

from __future__ import annotations

import pytest
from encord.exceptions import ResourceNotFoundError
from encord.orm.project import ProjectType

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_get_project_returns_the_demo_workflow_project(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])

    assert project.title == "Demo project"
    assert project.project_type == ProjectType.WORKFLOW
    assert project.ontology_hash == encord_emulator.ids["ontology_hash"]
    stages = {stage.title: (str(stage.uuid), stage.stage_type.value) for stage in project.workflow.stages}
    assert stages == {
        title: (uuid, kind)
        for (title, uuid), kind in zip(
            encord_emulator.ids["stages"].items(), ["ANNOTATION", "REVIEW", "DONE"], strict=True
        )
    }
    routes = [r.route for r in encord_emulator.requests]
    assert routes == ["v2:GET:/projects/{p}", "v2:GET:/ontologies/{o}"]


def test_get_project_of_unknown_hash_raises_not_found(client):
    with pytest.raises(ResourceNotFoundError):
        client.get_project("00000000-0000-4000-8000-000000000000")


def test_get_dataset_without_rows(client, encord_emulator):
    dataset = client.get_dataset(encord_emulator.ids["dataset_hash"], include_data_rows=False)

    assert dataset.title == "Demo dataset"
    [request] = encord_emulator.requests
    assert (request.transport, request.query_type, request.query_method) == ("rpc", "dataset", "GET")
    assert request.body["values"]["payload"]["dataset_access_settings"]["fetch_rows"] is False


def test_get_ontology_structure(client, encord_emulator):
    ontology = client.get_ontology(encord_emulator.ids["ontology_hash"])

    structure = ontology.structure.to_dict()
    shapes = {obj["name"]: obj["shape"] for obj in structure["objects"]}
    assert shapes == {"Car": "bounding_box", "Road": "polygon", "Pedestrian": "point"}
    [weather] = structure["classifications"]
    assert weather["attributes"][0]["name"] == "Weather"
    assert [o["label"] for o in weather["attributes"][0]["options"]] == ["Sunny", "Rainy", "Foggy"]


def test_list_projects_filters_with_sql_like_and_pages(encord_emulator_factory):
    from tests.emulator.conftest import sdk_client

    emu = encord_emulator_factory(seed="demo", max_page_size=1)
    client = sdk_client(emu)

    assert sorted(p.title for p in client.list_projects()) == ["Demo project", "Legacy QA project"]
    assert [p.title for p in client.list_projects(title_like="%qa%")] == ["Legacy QA project"]
    assert [p.title for p in client.list_projects(title_like="Demo_project")] == ["Demo project"]
    assert list(client.list_projects(title_like="QA")) == []
    page_tokens = [r.query.get("pageToken") for r in emu.requests if r.route == "v2:GET:/projects"][:3]
    assert page_tokens == [None, ["1"], None]


def test_list_datasets_and_ontologies_filter_by_title(client):
    assert [d["dataset"].title for d in client.get_datasets(title_like="%demo%")] == ["Demo dataset"]
    assert sorted(d["dataset"].title for d in client.get_datasets()) == ["Demo dataset", "Empty dataset"]
    titles = [o["ontology"].title for o in client.get_ontologies(title_like="%sign%")]
    assert titles == ["Traffic signs ontology"]


def test_ontologies_over_several_pages_through_the_sdk_pager(encord_emulator_factory):
    """``get_ontologies`` reads one page; the SDK's own pager, as the hook drives it, reads them all."""
    from encord.utilities.ontology_user import OntologiesFilterParams, OntologyWithUserRole

    from tests.emulator.conftest import sdk_client

    class PagedParams(OntologiesFilterParams):
        page_token: str | None = None

    emu = encord_emulator_factory(seed="demo", max_page_size=1)
    client = sdk_client(emu)
    client.create_ontology("Third ontology")

    first_page = [o["ontology"].title for o in client.get_ontologies()]
    emu.clear_requests()
    every = client._api_client.get_paged_iterator("ontologies", PagedParams(), OntologyWithUserRole)
    titles = [o.title for o in every]
    filtered = client._api_client.get_paged_iterator(
        "ontologies", PagedParams(title_like="%s ontology"), OntologyWithUserRole
    )

    assert first_page == ["Demo ontology"]
    assert titles == ["Demo ontology", "Traffic signs ontology", "Third ontology"]
    tokens = [r.query.get("pageToken") for r in emu.requests if r.route == "v2:GET:/ontologies"]
    assert tokens == [None, ["1"], ["2"]]
    assert [o.title for o in filtered] == ["Traffic signs ontology"]
