"""Test configuration shared by every test module.

Airflow reads its configuration when it is first imported, so the environment is set here, before any test
module imports it: a throw-away ``AIRFLOW_HOME`` (nothing is written to ``~/airflow``) and no example DAGs.
"""

from __future__ import annotations

import os
import tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-provider-encord-tests-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(os.path.dirname(__file__), "..", "example_dags")

pytest_plugins = ["airflow_provider_encord.testing.pytest_plugin"]
