"""Provider registration: a wrong provider dict breaks every ``airflow`` command on the machine."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema

from airflow_provider_encord.get_provider_info import get_provider_info

DISTRIBUTION = "airflow-provider-encord"


def _schema() -> dict:
    return json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())


def test_provider_info_passes_airflows_schema():
    jsonschema.validate(get_provider_info(), _schema())


def test_package_name_is_the_installed_distribution():
    info = get_provider_info()
    assert info["package-name"] == importlib.metadata.metadata(DISTRIBUTION)["Name"]
    entry_points = importlib.metadata.distribution(DISTRIBUTION).entry_points
    [entry_point] = [ep for ep in entry_points if ep.group == "apache_airflow_provider"]
    assert entry_point.load() is get_provider_info


def test_every_registered_class_and_module_imports():
    info = get_provider_info()
    for connection in info["connection-types"]:
        module, _, name = connection["hook-class-name"].rpartition(".")
        hook_class = getattr(importlib.import_module(module), name)
        assert hook_class.conn_type == connection["connection-type"]
        assert hook_class.hook_name == connection["hook-name"]
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info.get(section, []):
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for link in info.get("extra-links", []):
        module, _, name = link.rpartition(".")
        getattr(importlib.import_module(module), name)


def test_airflow_cli_lists_the_provider(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    airflow_cli = [sys.executable, "-m", "airflow"]
    providers = subprocess.run(
        [*airflow_cli, "providers", "list", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    listed = {p["package_name"]: p for p in json.loads(providers.stdout[providers.stdout.index("[") :])}
    assert DISTRIBUTION in listed
    assert listed[DISTRIBUTION]["version"] == importlib.metadata.version(DISTRIBUTION)
