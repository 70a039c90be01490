"""Every public class: importable, documented for a user to act on, its template fields rendered."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys

import pytest
from airflow.providers.common.compat.sdk import BaseOperator

import airflow_provider_encord
import airflow_provider_encord.operators as operators
from airflow_provider_encord.sensors import LabelStatusSensor

PUBLIC_PACKAGES = ("hooks", "operators", "sensors", "triggers", "links")


def _public_classes() -> list[type]:
    classes = []
    for package in PUBLIC_PACKAGES:
        path = importlib.import_module(f"airflow_provider_encord.{package}").__path__
        for info in pkgutil.iter_modules(path, f"airflow_provider_encord.{package}."):
            module = importlib.import_module(info.name)
            classes += [
                value
                for name, value in vars(module).items()
                if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
            ]
    return classes


PUBLIC_CLASSES = _public_classes()
TASK_CLASSES = [getattr(operators, name) for name in operators.__all__] + [LabelStatusSensor]


def _own_parameters(cls: type) -> set[str]:
    """The keyword arguments of ``cls`` and of the provider's classes it passes ``**kwargs`` on to."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(airflow_provider_encord.__name__) or "__init__" not in vars(klass):
            continue
        for name, parameter in inspect.signature(klass.__init__).parameters.items():
            if name != "self" and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                names.add(name)
    return names


def test_the_public_classes_are_all_found():
    names = {cls.__name__ for cls in PUBLIC_CLASSES}
    assert set(operators.__all__) | {"LabelStatusSensor", "EncordHook", "EncordUploadTrigger"} <= names
    assert {"LabelStatusTrigger", "EncordPollingTrigger", "EncordProjectLink", "EncordDatasetLink"} <= names


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_public_class_has_a_docstring_a_user_can_act_on(cls):
    doc = inspect.getdoc(cls)
    assert doc and doc != inspect.getdoc(cls.__mro__[1]), f"{cls.__name__} has no docstring of its own"
    summary = doc.split("\n\n")[0]
    assert len(summary) > 30 and summary.endswith("."), summary
    documented = set(re.findall(r":param (\w+):", doc))
    missing = _own_parameters(cls) - documented
    assert not missing, f"{cls.__name__} does not document {sorted(missing)}"
    assert not documented - _own_parameters(cls), f"{cls.__name__} documents arguments it does not take"
    if issubclass(cls, BaseOperator) and "execute" in vars(cls):
        assert ":return:" in doc, f"{cls.__name__} does not say what it returns (its XCom)"
    public_methods = [
        (name, member)
        for name, member in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    ]
    for name, member in public_methods:
        if name not in ("execute", "poke", "serialize", "run", "get_link", "check", "timeout_message"):
            assert inspect.getdoc(member), f"{cls.__name__}.{name} has no docstring"


def _render_cases():
    """One case per task class, or one per alternative where arguments exclude each other."""
    alternatives = {
        "MoveTaskOperator": [("data_hash", "pathway_name"), ("data_hashes", "destination_stage_uuid")],
        "UploadDataOperator": [("file_urls",), ("file_urls_path",)],
        "LabelStatusSensor": [("target_statuses",), ("through_stage",)],
    }
    for cls in TASK_CLASSES:
        groups = alternatives.get(cls.__name__, [()])
        excluded = {field for group in groups for field in group}
        for group in groups:
            fields = [f for f in cls.template_fields if f not in excluded or f in group]
            yield pytest.param(cls, fields, id="-".join([cls.__name__, *group]))


@pytest.mark.parametrize(("cls", "fields"), list(_render_cases()))
def test_every_template_field_renders(cls, fields):
    task = cls(task_id="t", **{field: "{{ params." + field + " }}-{{ run_id }}" for field in fields})
    task.render_template_fields({"params": {field: f"<{field}>" for field in fields}, "run_id": "manual__1"})
    assert {field: getattr(task, field) for field in fields} == {
        field: f"<{field}>-manual__1" for field in fields
    }


def _documented_as_templated(cls: type) -> set[str]:
    entries = re.split(r"\n(?=:(?:param \w+|return):)", inspect.getdoc(cls) or "")
    return {
        re.match(r":param (\w+):", e).group(1)
        for e in entries
        if e.startswith(":param") and "(templated" in e
    }


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda cls: cls.__name__)
def test_the_template_fields_are_the_arguments_documented_as_templated(cls):
    assert "encord_conn_id" in cls.template_fields
    assert _documented_as_templated(cls) == set(cls.template_fields) - {"encord_conn_id"}
    cases = [case for case in _render_cases() if case.values[0] is cls]
    assert {field for case in cases for field in case.values[1]} == set(cls.template_fields)


def test_public_imports_are_complete():
    assert len(operators.__all__) == 20
    for name in operators.__all__:
        cls = getattr(operators, name)
        assert cls.__name__ == name
        assert name in dir(operators)
    with pytest.raises(AttributeError):
        operators.NoSuchOperator  # noqa: B018


def test_importing_one_operator_loads_only_its_module():
    script = (
        "import json, sys\n"
        "from airflow_provider_encord.operators import GetProjectOperator\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('airflow_provider_encord', 'encord', 'pycocotools'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "airflow_provider_encord.operators.projects" in loaded
    operator_modules = {m for m in loaded if m.startswith("airflow_provider_encord.operators.")}
    assert operator_modules == {
        "airflow_provider_encord.operators.base",
        "airflow_provider_encord.operators.projects",
    }
    assert not [m for m in loaded if m.split(".")[0] in ("encord", "pycocotools")], "the SDK was imported"
    assert "airflow_provider_encord.hooks.encord" not in loaded


def test_the_coco_package_runs_without_importing_airflow():
    # Scripts and the benchmark use it outside Airflow; importing Airflow would add seconds to each run.
    script = (
        "import json, sys\n"
        "from airflow_provider_encord.coco import write_coco, CocoConverter\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
