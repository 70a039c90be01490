"""Test configuration shared by every test module.

Airflow reads its configuration when it is first imported, so the environment is set here, before any test
module imports it: a throw-away ``AIRFLOW_HOME`` (nothing is written to ``~/airflow``) and no example DAGs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-provider-encord-tests-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(os.path.dirname(__file__), "..", "example_dags")

pytest_plugins = ["airflow_provider_encord.testing.pytest_plugin"]


import pytest  # noqa: E402


@pytest.fixture
def log_messages(caplog: pytest.LogCaptureFixture):
    """
    The messages logged during the test (INFO and above), as a callable returning a list.

    Airflow 2 logs through the standard ``logging`` module, which ``caplog`` captures; the task SDK of
    Airflow 3 logs through structlog, which bypasses it, so structlog's events are captured as well.
    """
    caplog.set_level(logging.INFO)
    try:
        from structlog.testing import capture_logs
    except ImportError:  # Airflow 2 does not install structlog
        capture = contextlib.nullcontext([])
    else:
        capture = capture_logs()
    with capture as events:

        def messages() -> list[str]:
            logged = [record.getMessage() for record in caplog.records]
            return logged + [str(e.get("event")) for e in events if e.get("log_level") != "debug"]

        yield messages


@pytest.fixture(params=[("true", True), ("False", False), (None, False)], ids=["true", "false", "unset"])
def default_deferrable(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE`` set to true, to false, or unset; the value it means."""
    setting, expected = request.param
    if setting is None:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    return expected


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A SQLite metadata database in the test ``AIRFLOW_HOME``, created once per session (``dag.test()``)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def run_dag(airflow_db: None):
    """
    Run a DAG defined in a test with ``dag.test()`` and return the DAG run.

    On Airflow 3.2+ ``dag.test()`` needs the DAG serialized in the metadata database, which normally happens
    when the DAG processor parses the DAG file; a DAG built inside a test is written there first.
    """

    def run(dag, **kwargs):
        try:
            from airflow.dag_processing.bundles.manager import DagBundlesManager
            from airflow.dag_processing.collection import update_dag_parsing_results_in_db
            from airflow.serialization.serialized_objects import LazyDeserializedDAG
            from airflow.utils.session import create_session
        except ImportError:  # Airflow 2: dag.test() says execution_date, and serializes the DAG itself
            if "logical_date" in kwargs:
                kwargs["execution_date"] = kwargs.pop("logical_date")
            dag.sync_to_db()  # as the scheduler would: registers the DAG's datasets, so events are recorded
            return dag.test(**kwargs)
        with create_session() as session:
            DagBundlesManager().sync_bundles_to_db(session=session)
        with create_session() as session:
            update_dag_parsing_results_in_db(
                "dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session=session
            )
        return dag.test(**kwargs)

    return run


@pytest.fixture
def xcoms(airflow_db: None):
    """Read the XComs a DAG run left: ``xcoms(dag_run)`` -> ``{(task_id, key): value}``."""

    def read(dag_run) -> dict:
        from airflow.utils.session import create_session

        try:
            from airflow.models.xcom import XComModel as Model
        except ImportError:  # Airflow 2
            from airflow.models.xcom import BaseXCom as Model
        with create_session() as session:
            rows = (
                session.query(Model)
                .filter(Model.dag_id == dag_run.dag_id, Model.run_id == dag_run.run_id)
                .all()
            )
            return {(row.task_id, row.key): _xcom_value(row) for row in rows}

    return read


def _xcom_value(row):
    """Airflow 3 stores XCom values as JSON and decodes them; Airflow 2 keeps serialized bytes."""
    value = row.value
    if isinstance(value, bytes):
        import json

        return json.loads(value)
    return value
