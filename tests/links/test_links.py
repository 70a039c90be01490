"""Links to the Encord web app."""

from __future__ import annotations

import pytest

from airflow_provider_encord.links.encord import EncordDatasetLink, EncordProjectLink, app_url_from_domain


@pytest.mark.parametrize(
    ("domain", "app_url"),
    [
        ("https://api.encord.com", "https://app.encord.com"),
        ("https://api.us.encord.com", "https://app.us.encord.com"),
        ("api.us.encord.com", "https://app.us.encord.com"),
        ("https://api.encord.com/", "https://app.encord.com"),
        (None, "https://app.encord.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_app_url_from_domain(domain, app_url):
    assert app_url_from_domain(domain) == app_url


class _RecordingTaskInstance:
    """Stands in for a task instance: records what is pushed to XCom."""

    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def test_persist_stores_what_the_link_formats():
    ti = _RecordingTaskInstance()
    EncordProjectLink.persist({"ti": ti}, app_url="https://app.encord.com/", project_hash="p1")
    EncordDatasetLink.persist({"ti": ti}, app_url="https://app.us.encord.com", dataset_hash="d1")
    project = ti.pushed[EncordProjectLink.key]
    assert EncordProjectLink.format_str.format(**project) == "https://app.encord.com/projects/view/p1/summary"
    dataset = ti.pushed[EncordDatasetLink.key]
    assert EncordDatasetLink.format_str.format(**dataset) == "https://app.us.encord.com/datasets/view/d1"
    EncordProjectLink.persist({}, app_url="https://app.encord.com", project_hash="p1")  # no task instance


def test_links_are_rendered_after_a_dag_run(encord_emulator, run_dag, xcoms):
    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_encord.operators import GetDatasetOperator, GetProjectOperator

    ids = encord_emulator.ids
    with DAG("encord_links", schedule=None) as dag:
        GetProjectOperator(task_id="project", project_hash=ids["project_hash"])
        GetDatasetOperator(task_id="dataset", dataset_hash=ids["dataset_hash"])
    run = run_dag(dag)
    assert run.state == "success"
    values = xcoms(run)
    assert values[("project", EncordProjectLink.key)] == {
        "app_url": encord_emulator.url,
        "project_hash": ids["project_hash"],
    }
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    rendered = {key: value for key, value in values.items() if key[1].startswith("_link_")}
    if AIRFLOW_V_3_0_PLUS:  # Airflow 3 renders the links in the worker and stores them
        assert rendered[("project", "_link_EncordProjectLink")] == (
            f"{encord_emulator.url}/projects/view/{ids['project_hash']}/summary"
        )
        assert rendered[("dataset", "_link_EncordDatasetLink")] == (
            f"{encord_emulator.url}/datasets/view/{ids['dataset_hash']}"
        )
