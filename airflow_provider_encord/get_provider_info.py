"""Provider metadata read by Airflow's providers manager through the ``apache_airflow_provider`` entry point.

Airflow validates this dictionary against its ``provider_info.schema.json`` and refuses to run *any* command
when ``package-name`` does not match the installed distribution, so both are covered by tests.
"""

from __future__ import annotations

from typing import Any

_STRING_OR_NULL = ["string", "null"]
_INTEGER_OR_NULL = ["integer", "null"]
_NUMBER_OR_NULL = ["number", "null"]


def _connection_type() -> dict[str, Any]:
    """Describe the ``encord`` connection type and its form (Airflow 3.2+ reads ``conn-fields``)."""
    return {
        "connection-type": "encord",
        "hook-class-name": "airflow_provider_encord.hooks.encord.EncordHook",
        "hook-name": "Encord",
        "conn-fields": {
            "ssh_private_key_path": {
                "label": "SSH private key file",
                "description": (
                    "Path, on the workers, to an OpenSSH Ed25519 private key file; "
                    "use instead of pasting the key into the key field."
                ),
                "schema": {"type": _STRING_OR_NULL},
            },
            "bearer_token": {
                "label": "Bearer token",
                "description": "An Encord bearer token, used instead of an SSH key.",
                "schema": {"type": _STRING_OR_NULL, "format": "password"},
            },
            "max_retries": {
                "label": "Max retries",
                "description": "Retries of idempotent requests on HTTP 413/429/5xx.",
                "schema": {"type": _INTEGER_OR_NULL, "default": 3, "minimum": 0},
            },
            "backoff_factor": {
                "label": "Backoff factor",
                "description": "Seconds; the n-th retry waits backoff_factor * 2 ** (n - 1).",
                "schema": {"type": _NUMBER_OR_NULL, "default": 1.5, "minimum": 0},
            },
            "connect_timeout": {
                "label": "Connect timeout (s)",
                "schema": {"type": _INTEGER_OR_NULL, "default": 180, "minimum": 1},
            },
            "read_timeout": {
                "label": "Read timeout (s)",
                "description": "Must exceed 60 s: upload status checks may be held open by the server.",
                "schema": {"type": _INTEGER_OR_NULL, "default": 180, "minimum": 1},
            },
            "write_timeout": {
                "label": "Write timeout (s)",
                "schema": {"type": _INTEGER_OR_NULL, "default": 180, "minimum": 1},
            },
        },
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "Encord API domain", "password": "SSH private key (OpenSSH Ed25519)"},
            "placeholders": {
                "host": "https://api.encord.com (US tenants: https://api.us.encord.com)",
                "password": "-----BEGIN OPENSSH PRIVATE KEY-----",
            },
        },
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow registers at start-up."""
    return {
        "package-name": "airflow-provider-encord",
        "name": "Encord",
        "description": "`Encord <https://encord.com/>`__: annotation, review workflows and label export.",
        "integrations": [
            {
                "integration-name": "Encord",
                "external-doc-url": "https://docs.encord.com/sdk-documentation/getting-started-sdk/installation-sdk",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Encord",
                "python-modules": ["airflow_provider_encord.hooks.encord"],
            }
        ],
        "operators": [
            {
                "integration-name": "Encord",
                "python-modules": [
                    f"airflow_provider_encord.operators.{module}"
                    for module in (
                        "datasets",
                        "labels",
                        "ontologies",
                        "projects",
                        "storage",
                        "upload",
                        "workflow",
                    )
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Encord",
                "python-modules": ["airflow_provider_encord.sensors.label_status"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Encord",
                "python-modules": [
                    "airflow_provider_encord.triggers.label_status",
                    "airflow_provider_encord.triggers.upload",
                ],
            }
        ],
        "extra-links": [
            "airflow_provider_encord.links.encord.EncordProjectLink",
            "airflow_provider_encord.links.encord.EncordDatasetLink",
        ],
        "connection-types": [_connection_type()],
    }
