"""Encord operators: every Encord action as a DAG task.

``from airflow_provider_encord.operators import UploadDataOperator`` imports only the module that defines the
class, so a DAG file pays for nothing it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_encord.operators.datasets import (
        CreateDatasetOperator,
        GetDatasetOperator,
        ListDatasetsOperator,
    )
    from airflow_provider_encord.operators.labels import ExportCocoOperator, ListLabelRowsOperator
    from airflow_provider_encord.operators.ontologies import (
        CreateOntologyOperator,
        GetOntologyOperator,
        ListOntologiesOperator,
    )
    from airflow_provider_encord.operators.projects import (
        AddProjectUsersOperator,
        CreateProjectOperator,
        GetProjectOperator,
        ListGroupsOperator,
        ListProjectsOperator,
        ListProjectUsersOperator,
    )
    from airflow_provider_encord.operators.storage import (
        CreateStorageFolderOperator,
        ListStorageFoldersOperator,
        ListStorageItemsOperator,
    )
    from airflow_provider_encord.operators.upload import UploadDataOperator
    from airflow_provider_encord.operators.workflow import GetWorkflowStagesOperator, MoveTaskOperator

_MODULES = {
    "datasets": ("CreateDatasetOperator", "GetDatasetOperator", "ListDatasetsOperator"),
    "labels": ("ExportCocoOperator", "ListLabelRowsOperator"),
    "ontologies": ("CreateOntologyOperator", "GetOntologyOperator", "ListOntologiesOperator"),
    "projects": (
        "AddProjectUsersOperator",
        "CreateProjectOperator",
        "GetProjectOperator",
        "ListGroupsOperator",
        "ListProjectsOperator",
        "ListProjectUsersOperator",
    ),
    "storage": ("CreateStorageFolderOperator", "ListStorageFoldersOperator", "ListStorageItemsOperator"),
    "upload": ("UploadDataOperator",),
    "workflow": ("GetWorkflowStagesOperator", "MoveTaskOperator"),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "AddProjectUsersOperator",
    "CreateDatasetOperator",
    "CreateOntologyOperator",
    "CreateProjectOperator",
    "CreateStorageFolderOperator",
    "ExportCocoOperator",
    "GetDatasetOperator",
    "GetOntologyOperator",
    "GetProjectOperator",
    "GetWorkflowStagesOperator",
    "ListDatasetsOperator",
    "ListGroupsOperator",
    "ListLabelRowsOperator",
    "ListOntologiesOperator",
    "ListProjectUsersOperator",
    "ListProjectsOperator",
    "ListStorageFoldersOperator",
    "ListStorageItemsOperator",
    "MoveTaskOperator",
    "UploadDataOperator",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
