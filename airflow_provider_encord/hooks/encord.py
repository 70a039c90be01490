"""The Encord hook: one connection, one lazily built SDK client, one method per Encord action.

Every public method returns a JSON-serialisable ``dict`` (UUIDs as strings, times as ISO-8601, enums by
value) so that operators can push it to XCom unchanged. The ``encord`` SDK is imported inside methods only:
importing this module stays cheap at DAG-parse time.

Errors from the SDK are translated (see :mod:`airflow_provider_encord.exceptions`): authentication,
permission, not-found and invalid-argument errors fail the task without retries; rate limits, server and
network errors are retryable. No message carries key material.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_encord import __version__
from airflow_provider_encord._defaults import DEFAULT_BUNDLE_SIZE
from airflow_provider_encord.exceptions import (
    EncordAuthenticationError,
    EncordConfigurationError,
    EncordFailError,
    EncordInvalidInputError,
    EncordNotFoundError,
    EncordPermissionError,
    EncordRateLimitError,
    EncordRetryableError,
    EncordUploadError,
    EncordUploadTimeoutError,
)
from airflow_provider_encord.hooks.inputs import (
    build_upload_registration,
    like_pattern,
    validate_datetime,
    validate_emails,
    validate_hash_list,
    validate_pathway_name,
    validate_statuses,
    validate_storage_location,
    validate_user_role,
    validate_uuid,
)

if TYPE_CHECKING:
    from encord.project import Project
    from encord.user_client import EncordUserClient

DEFAULT_DOMAIN = "https://api.encord.com"
US_DOMAIN = "https://api.us.encord.com"
USER_AGENT_SUFFIX = f"airflow-provider-encord/{__version__}"

#: Connection extras understood by the hook, with their defaults (timeouts in seconds).
REQUEST_SETTING_DEFAULTS: dict[str, int | float] = {
    "max_retries": 3,
    "backoff_factor": 1.5,
    "connect_timeout": 180,
    "read_timeout": 180,
    "write_timeout": 180,
}
#: Workflow stage type -> the ``annotation_task_status`` reported for rows of workflow projects.
TASK_STATUS_BY_STAGE_TYPE = {
    "ANNOTATION": "QUEUED",
    "CONSENSUS_ANNOTATION": "QUEUED",
    "AGENT": "QUEUED",
    "REVIEW": "IN_REVIEW",
    "CONSENSUS_REVIEW": "IN_REVIEW",
    "DONE": "COMPLETED",
}
#: Stage types whose tasks each ``pathway_name`` applies to.
_STAGE_TYPES_BY_PATHWAY = {
    "submit": ("ANNOTATION",),
    "approve": ("REVIEW", "CONSENSUS_REVIEW"),
    "reject": ("REVIEW", "CONSENSUS_REVIEW"),
}
_UPLOAD_FINAL_STATUSES = ("DONE", "ERROR", "CANCELLED")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_TASK_QUERY_CHUNK = 100

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.DOTALL)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")
_KEYLIKE = re.compile(r"\b(?:ssh-ed25519|ssh-rsa) [A-Za-z0-9+/=]{20,}")


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value is not None else None)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _role_name(role: Any) -> str:
    return role.name.lower() if isinstance(role, Enum) else str(role).lower()


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@functools.cache
def _paging_models() -> tuple[type, type]:
    """Query models with a ``page_token`` field, so the SDK's own pager can read every page.

    ``list_groups`` and ``get_ontologies`` read only the first page in SDK 0.1.211; the pager
    (``ApiClient.get_paged_iterator``) needs a params object with a ``page_token`` attribute.
    """
    from encord.orm.base_dto import BaseDTO
    from encord.utilities.ontology_user import OntologiesFilterParams

    class PageParams(BaseDTO):
        page_token: str | None = None

    class PagedOntologiesFilterParams(OntologiesFilterParams):
        page_token: str | None = None

    return PageParams, PagedOntologiesFilterParams


class EncordHook(BaseHook):
    """Talk to Encord through an Airflow connection of type ``encord``.

    Connection fields: ``password`` holds the OpenSSH Ed25519 private key text; ``host`` the API domain
    (default ``https://api.encord.com``, ``https://api.us.encord.com`` for US tenants). Extras:
    ``ssh_private_key_path`` (a key file instead of the key text), ``bearer_token`` (instead of a key),
    ``max_retries``, ``backoff_factor``, ``connect_timeout``, ``read_timeout``, ``write_timeout``.

    .. seealso:: https://docs.encord.com/sdk-documentation/getting-started-sdk/authentication-sdk

    :param encord_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "encord_conn_id"
    default_conn_name = "encord_default"
    conn_type = "encord"
    hook_name = "Encord"

    def __init__(self, encord_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encord_conn_id = encord_conn_id
        self._client: EncordUserClient | None = None
        self._connection: Any = None
        self._secrets: list[str] = []

    # ------------------------------------------------------------------ connection form (Airflow 2.11)

    @staticmethod
    def connection_form_fields() -> list[tuple[str, str, str, int | float | None]]:
        """``(extra name, label, kind, minimum)`` of each extra field; kind is ``password``, ``integer`` or
        ``string``, minimum the smallest value a number field accepts (``None`` for text fields).

        Derived from the ``conn-fields`` of the provider info, so that the Airflow 3.2+ form and the
        Airflow 2.11 widgets show the same fields.
        """
        from airflow_provider_encord.get_provider_info import get_provider_info

        fields = []
        for name, spec in get_provider_info()["connection-types"][0]["conn-fields"].items():
            schema = spec["schema"]
            if schema.get("format") == "password":
                kind = "password"
            elif "integer" in schema["type"]:
                kind = "integer"
            else:
                kind = "string"
            fields.append((name, spec["label"], kind, schema.get("minimum")))
        return fields

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form on Airflow < 3.2 (3.2+ reads ``conn-fields`` instead).

        Only the field classes Airflow 2.11 accepts are used (decimals such as ``backoff_factor`` are text).
        """
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, PasswordField, StringField
        from wtforms.validators import NumberRange, Optional

        widgets: dict[str, Any] = {}
        for name, label, kind, minimum in cls.connection_form_fields():
            if kind == "password":
                widgets[name] = PasswordField(lazy_gettext(label), widget=BS3PasswordFieldWidget())
            elif kind == "integer":
                widgets[name] = IntegerField(
                    lazy_gettext(label),
                    widget=BS3TextFieldWidget(),
                    validators=[Optional(), NumberRange(min=minimum)],
                )
            else:
                widgets[name] = StringField(lazy_gettext(label), widget=BS3TextFieldWidget())
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder fields of the connection form on Airflow < 3.2."""
        from airflow_provider_encord.get_provider_info import get_provider_info

        behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
        placeholders = dict(behaviour["placeholders"])
        placeholders.update({name: str(value) for name, value in REQUEST_SETTING_DEFAULTS.items()})
        placeholders["ssh_private_key_path"] = "/opt/airflow/secrets/encord_ed25519"
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": placeholders,
        }

    # ------------------------------------------------------------------ client

    def _get_airflow_connection(self) -> Any:
        if self._connection is None:
            self._connection = self.get_connection(self.encord_conn_id)
        return self._connection

    def _extra(self, name: str) -> Any:
        extras = self._get_airflow_connection().extra_dejson or {}
        value = extras.get(name, extras.get(f"extra__encord__{name}"))
        return None if value == "" else value

    @property
    def domain(self) -> str:
        """The Encord API domain in use: the connection's host (scheme added when missing) or the default.

        Loopback hosts (``127.0.0.1``, ``localhost``, ``::1``) default to ``http``, every other host to
        ``https``. A path, query, fragment or user name in the host, or a port that contradicts the
        connection's port field, is a configuration error.
        """
        conn = self._get_airflow_connection()
        host = (conn.host or "").strip()
        if not host:
            return DEFAULT_DOMAIN
        if "://" not in host:
            bare = urlsplit(f"//{host}").hostname or ""
            host = f"{'http' if bare in _LOOPBACK_HOSTS else 'https'}://{host}"
        parts = urlsplit(host)
        try:
            port = parts.port
        except ValueError:
            port = -1
        shown = f"{parts.scheme}://{parts.hostname or ''}" if parts.username or parts.password else conn.host

        def problem(what: str) -> EncordConfigurationError:
            return EncordConfigurationError(
                f"Connection {self.encord_conn_id!r}: host {shown!r} {what}; use the bare domain, such as "
                f"{DEFAULT_DOMAIN}, or {US_DOMAIN} for US tenants."
            )

        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise problem("is not an Encord API domain")
        if parts.username is not None or parts.password is not None:
            raise problem("holds a user name or password (credentials go in the key or token fields)")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise problem("has a path, query or fragment")
        if conn.port and port is not None and port != conn.port:
            raise problem(f"names port {port} but the port field says {conn.port}")
        netloc = parts.netloc
        if conn.port and port is None:
            netloc = f"{netloc}:{conn.port}"
        return f"{parts.scheme}://{netloc}"

    def _requests_settings(self) -> Any:
        from encord.http.constants import RequestsSettings

        values: dict[str, Any] = {}
        for name, default in REQUEST_SETTING_DEFAULTS.items():
            raw = self._extra(name)
            values[name] = default if raw is None else self._request_setting(name, raw, default)
        if values["read_timeout"] <= 60:
            self.log.warning(
                "read_timeout=%s s: Encord may hold upload status requests open for 60 s; use more than 60.",
                values["read_timeout"],
            )
        return RequestsSettings(**values)

    def _request_setting(self, name: str, raw: Any, default: int | float) -> int | float:
        """One request-setting extra as a number: whole for retries and timeouts, at least 1 for timeouts."""
        whole = isinstance(default, int)
        least = 1 if name.endswith("timeout") else 0
        kind = "a whole number" if whole else "a number"
        try:
            value = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or (whole and not value.is_integer()) or value < least:
            unit = " of seconds" if name.endswith("timeout") else ""
            raise EncordConfigurationError(
                f"Connection {self.encord_conn_id!r}: extra {name}={raw!r} is not valid; use {kind}{unit} "
                f"of at least {least} (default {default})."
            )
        return int(value) if whole else value

    @staticmethod
    def _normalise_key(key: str) -> str:
        key = key.strip()
        if "\n" not in key and "\\n" in key:
            key = key.replace("\\n", "\n")
        return key + "\n"

    def _describe_key_problem(self, key: str) -> str:
        if key.lstrip().startswith(("ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-")):
            return "holds a public key; paste the private key (the file without .pub)"
        if "BEGIN OPENSSH PRIVATE KEY" in key:
            return (
                "is an OpenSSH key but not an unencrypted Ed25519 key (RSA/ECDSA keys and passphrases are "
                "not supported)"
            )
        if "BEGIN" in key and "PRIVATE KEY" in key:
            return "is a PEM/PKCS#8 key; Encord needs the OpenSSH format"
        return "does not look like an OpenSSH private key"

    def get_conn(self) -> EncordUserClient:
        """Return the ``EncordUserClient`` for this connection, built on first use and then cached."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> EncordUserClient:
        from encord.user_client import EncordUserClient

        conn = self._get_airflow_connection()
        domain = self.domain
        settings = self._requests_settings()
        token = self._extra("bearer_token")
        key_path = self._extra("ssh_private_key_path")
        key = conn.password
        if token:
            self._secrets.append(str(token))
            return EncordUserClient.create_with_bearer_token(
                str(token), requests_settings=settings, domain=domain, user_agent_suffix=USER_AGENT_SUFFIX
            )
        if key_path:
            try:
                with open(str(key_path).strip(), encoding="ascii") as fh:
                    key = fh.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise EncordConfigurationError(
                    f"Connection {self.encord_conn_id!r}: cannot read ssh_private_key_path={key_path!r} "
                    f"({type(exc).__name__}); check the file exists on the worker and is readable."
                ) from None
        if not key:
            raise EncordConfigurationError(
                f"Connection {self.encord_conn_id!r} has no credentials: put the OpenSSH Ed25519 private key "
                "in the password field, or set the extra ssh_private_key_path or bearer_token."
            )
        key = self._normalise_key(key)
        self._secrets.extend([key.strip(), *(line for line in key.splitlines() if len(line) >= 16)])
        source = f"ssh_private_key_path={key_path!r}" if key_path else "the password field"
        try:
            return EncordUserClient.create_with_ssh_private_key(
                key, requests_settings=settings, domain=domain, user_agent_suffix=USER_AGENT_SUFFIX
            )
        except Exception:
            # The SDK's own message for an RSA key contains the whole key: never chain or quote it.
            raise EncordConfigurationError(
                f"Connection {self.encord_conn_id!r}: the key in {source} {self._describe_key_problem(key)}. "
                "Create one with `ssh-keygen -t ed25519 -N ''` and register its public half in Encord."
            ) from None

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated request; answer ``(ok, message)`` without key material."""
        try:
            client = self.get_conn()
            with self._translate_errors("test the connection"):
                next(iter(client.list_projects(title_eq="airflow-provider-encord connection test")), None)
        except Exception as exc:
            return False, self._scrub(str(exc))
        return True, f"Connected to Encord at {self.domain}."

    # ------------------------------------------------------------------ errors

    def _scrub(self, text: str) -> str:
        text = _PEM_BLOCK.sub("[private key removed]", text)
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "[secret removed]")
        text = _BEARER.sub(r"\1[token removed]", text)
        return _KEYLIKE.sub("[key removed]", text)

    @contextlib.contextmanager
    def _translate_errors(self, action: str) -> Iterator[None]:
        """Turn SDK exceptions raised inside the block into provider exceptions for ``action``."""
        from encord import exceptions as ex

        try:
            yield
        except (EncordFailError, EncordRetryableError):
            raise
        except (ex.AuthenticationError, ex.SshKeyNotFound) as exc:
            raise EncordAuthenticationError(
                f"Could not {action}: Encord at {self.domain} rejected the credentials of connection "
                f"{self.encord_conn_id!r} ({self._scrub(exc.message)}). Check that the public key is "
                f"registered in Encord, and that the host matches your tenant's region: {DEFAULT_DOMAIN} or "
                f"{US_DOMAIN}."
            ) from None
        except ex.AuthorisationError as exc:
            raise EncordPermissionError(
                f"Could not {action}: permission denied ({self._scrub(exc.message)}). The Encord user of "
                f"connection {self.encord_conn_id!r} needs access to this resource (ask a project or "
                "organisation admin), or the identifier belongs to another organisation."
            ) from None
        except ex.ResourceNotFoundError as exc:
            raise EncordNotFoundError(
                f"Could not {action}: not found ({self._scrub(exc.message)}). Check the identifier, and that "
                f"it exists at {self.domain}."
            ) from None
        except ex.RateLimitExceededError as exc:
            raise EncordRateLimitError(
                f"Could not {action}: Encord's rate limit was hit ({self._scrub(exc.message)}); the task "
                "will be retried if it has retries left.",
                retry_after=exc.retry_after,
            ) from None
        except (
            ex.InvalidArgumentsError,
            ex.ResourceExistsError,
            ex.WrongProjectTypeError,
            ex.OperationNotAllowed,
            ex.MethodNotAllowedError,
            ex.PayloadTooLargeError,
            ex.MultiLabelLimitError,
            ex.LabelRowError,
            ex.InvalidDateFormatError,
            ex.OntologyError,
            ex.DatasetError,
        ) as exc:
            raise EncordInvalidInputError(
                f"Could not {action}: Encord rejected the request ({type(exc).__name__}: "
                f"{self._scrub(exc.message)}). Fix the arguments before running the task again."
            ) from None
        except (
            ex.GenericServerError,
            ex.RequestException,
            ex.UnknownException,
            ex.TimeOutError,
            ex.CloudUploadError,
        ) as exc:
            raise EncordRetryableError(
                f"Could not {action}: server or network error talking to {self.domain} "
                f"({type(exc).__name__}: {self._scrub(exc.message)}); the task will be retried if it has "
                "retries left."
            ) from None
        except ex.EncordException as exc:
            # Everything else the SDK raises (corrupted labels, unsupported files, a feature missing from the
            # ontology, ...) says something about the request or the data, which a retry does not change.
            raise EncordFailError(
                f"Could not {action}: Encord rejected the request ({type(exc).__name__}: "
                f"{self._scrub(str(exc))}). Fix the cause before running the task again."
            ) from None

    # ------------------------------------------------------------------ shared lookups

    def get_project_object(self, project_hash: str) -> Project:
        """Return the SDK ``Project`` (two requests: the project and its ontology)."""
        project_hash = validate_uuid(project_hash, "project_hash")
        with self._translate_errors(f"get project {project_hash}"):
            try:
                return self.get_conn().get_project(project_hash)
            except AssertionError as exc:
                raise EncordInvalidInputError(
                    f"Could not load project {project_hash}: its workflow has a stage this SDK version "
                    f"cannot read ({exc}). Upgrade the encord package within the supported range."
                ) from None

    @staticmethod
    def _is_workflow(project: Project) -> bool:
        return _enum_value(project.project_type) == "workflow"

    def _stages(self, project: Project) -> list[Any]:
        if not self._is_workflow(project):
            raise EncordInvalidInputError(
                f"Project {project.project_hash} uses manual QA, not a workflow: it has no workflow stages "
                "and its tasks cannot be moved. Use a workflow project, or check label_status instead."
            )
        return list(project.workflow.stages)

    @staticmethod
    def _stage_dict(stage: Any) -> dict[str, Any]:
        return {"uuid": str(stage.uuid), "title": stage.title, "stage_type": _enum_value(stage.stage_type)}

    def _find_stage(self, stages: list[Any], stage: str, param: str, project_hash: str) -> Any:
        for candidate in stages:
            if str(candidate.uuid) == stage.strip().lower() or candidate.title == stage:
                return candidate
        listed = ", ".join(f"{s.title!r} ({s.uuid})" for s in stages)
        raise EncordNotFoundError(
            f"{param}={stage!r} is not a stage of project {project_hash}; stages: {listed}."
        )

    # ------------------------------------------------------------------ projects

    @staticmethod
    def _project_dict(project: Any) -> dict[str, Any]:
        return {
            "project_hash": str(project.project_hash),
            "title": project.title,
            "description": project.description,
            "ontology_hash": _str_or_none(project.ontology_hash),
            "status": _enum_value(project.status),
            "project_type": _enum_value(project.project_type),
            "created_at": _iso(project.created_at),
            "last_edited_at": _iso(project.last_edited_at),
        }

    def get_project(self, project_hash: str) -> dict[str, Any]:
        """Describe a project.

        :param project_hash: the project's identifier.
        """
        return self._project_dict(self.get_project_object(project_hash))

    def list_projects(self, title_like: str | None = None) -> dict[str, Any]:
        """List the projects the user can access.

        :param title_like: text the title must contain; ``%`` makes it a LIKE pattern.
        """
        with self._translate_errors("list projects"):
            projects = [
                self._project_dict(p)
                for p in self.get_conn().list_projects(title_like=like_pattern(title_like))
            ]
        return {"projects": projects}

    def create_project(
        self,
        title: str,
        dataset_hashes: Sequence[str] | str,
        description: str | None = None,
        ontology_hash: str | None = None,
        reuse_existing: bool = False,
        workflow_template_hash: str | None = None,
    ) -> dict[str, Any]:
        """Create a project on datasets (a workflow project when ``workflow_template_hash`` is given).

        :param title: the project title.
        :param dataset_hashes: the datasets to annotate.
        :param description: an optional description.
        :param ontology_hash: the ontology to use; Encord creates an empty one when omitted.
        :param reuse_existing: return the project of exactly this title if one exists (safe retries); when
            ``ontology_hash`` is given, a project of that title with another ontology is an error.
        :param workflow_template_hash: a workflow template to create the project from.
        """
        title = self._require_title(title)
        dataset_hashes = [
            validate_uuid(h, "dataset_hashes") for h in validate_hash_list(dataset_hashes, "dataset_hashes")
        ]
        if ontology_hash is not None:
            ontology_hash = validate_uuid(ontology_hash, "ontology_hash")
        if reuse_existing:
            with self._translate_errors(f"look up project {title!r}"):
                for project in self.get_conn().list_projects(title_eq=title):
                    if project.title != title:
                        continue
                    found = _str_or_none(project.ontology_hash)
                    if ontology_hash is not None and found != ontology_hash:
                        raise EncordInvalidInputError(
                            f"A project titled {title!r} exists already ({project.project_hash}) with "
                            f"ontology {found}, not ontology_hash={ontology_hash!r}: give the new project "
                            "another title, or pass the ontology it has."
                        )
                    self.log.info("Reusing project %s titled %r", project.project_hash, title)
                    return {"project_hash": str(project.project_hash), "title": title, "created": False}
        with self._translate_errors(f"create project {title!r}"):
            project_hash = self.get_conn().create_project(
                title,
                dataset_hashes,
                project_description=description or "",
                ontology_hash=ontology_hash or "",
                workflow_template_hash=workflow_template_hash,
            )
        self.log.info("Created project %s titled %r", project_hash, title)
        return {"project_hash": str(project_hash), "title": title, "created": True}

    def list_project_users(self, project_hash: str) -> dict[str, Any]:
        """List the users of a project with their roles (lower case, such as ``annotator``).

        :param project_hash: the project's identifier.
        """
        project = self.get_project_object(project_hash)
        with self._translate_errors(f"list the users of project {project_hash}"):
            users = [
                {"user_email": u.user_email, "user_role": _role_name(u.user_role)}
                for u in project.list_users()
            ]
        return {"users": users}

    def add_users_to_project(
        self, project_hash: str, user_emails: Sequence[str] | str, user_role: str
    ) -> dict[str, Any]:
        """Add users to a project. A user already on the project keeps (and reports) their current role.

        :param project_hash: the project's identifier.
        :param user_emails: the e-mail addresses to add.
        :param user_role: annotator, reviewer, admin, annotator_reviewer, team_manager or viewer.
        """
        from encord.utilities.project_user import ProjectUserRole

        role = validate_user_role(user_role)
        emails = validate_emails(user_emails)
        project = self.get_project_object(project_hash)
        with self._translate_errors(f"add {len(emails)} users to project {project_hash}"):
            added = project.add_users(emails, ProjectUserRole[role])
        self.log.info("Added %s users to project %s", len(added), project_hash)
        return {
            "users_added": [{"user_email": u.user_email, "user_role": _role_name(u.user_role)} for u in added]
        }

    # ------------------------------------------------------------------ workflow

    def get_workflow_stages(self, project_hash: str) -> dict[str, Any]:
        """List the stages of a workflow project in order; a manual-QA project is an error.

        :param project_hash: the project's identifier.
        """
        project = self.get_project_object(project_hash)
        return {"stages": [self._stage_dict(s) for s in self._stages(project)]}

    def _locate_tasks(self, project: Project, data_hashes: list[str]) -> dict[str, str | None]:
        """Map data hashes to the uuid of the stage their task is in now (``None`` when not in a stage)."""
        with self._translate_errors(f"locate tasks in project {project.project_hash}"):
            rows = project.list_label_rows_v2(data_hashes=data_hashes, include_workflow_graph_node=True)
        wanted = set(data_hashes)
        found: dict[str, str | None] = {}
        for row in rows:
            if row.data_hash in wanted:
                node = row.workflow_graph_node
                found[row.data_hash] = str(node.uuid) if node is not None else None
        return found

    def move_workflow_tasks(
        self,
        project_hash: str,
        stage_uuid: str,
        data_hashes: Sequence[str] | str,
        pathway_name: str | None = None,
        destination_stage_uuid: str | None = None,
    ) -> dict[str, Any]:
        """Submit, approve or reject the tasks of data units in a stage, or move them to another stage.

        Bundled: one request per 500 moves (1000 actions). Safe to repeat: a task no longer in ``stage_uuid``
        that is already where the call would send it is reported in ``already_moved`` instead of failing. For
        a move that place is ``destination_stage_uuid``. For submit, approve and reject, whose routing only
        the server knows, it is judged from the workflow's stage order: submitted and approved tasks are in a
        stage listed after ``stage_uuid``, rejected ones in an annotation stage listed before it. A data hash
        in neither place (such as approving a task that is still being annotated) is an error.

        :param project_hash: the workflow project.
        :param stage_uuid: the stage the tasks are in.
        :param data_hashes: the data units whose tasks to act on.
        :param pathway_name: submit (annotation stages), approve or reject (review stages).
        :param destination_stage_uuid: move the tasks to this stage instead (any stage type).
        """
        pathway = validate_pathway_name(pathway_name)
        if (pathway is None) == (destination_stage_uuid is None):
            raise EncordInvalidInputError(
                f"Give exactly one of pathway_name (submit, approve, reject) and destination_stage_uuid; got "
                f"pathway_name={pathway_name!r}, destination_stage_uuid={destination_stage_uuid!r}."
            )
        stage_uuid = validate_uuid(stage_uuid, "stage_uuid")
        destination = (
            validate_uuid(destination_stage_uuid, "destination_stage_uuid")
            if destination_stage_uuid
            else None
        )
        hashes = list(dict.fromkeys(validate_hash_list(data_hashes, "data_hashes")))
        project = self.get_project_object(project_hash)
        stages = self._stages(project)
        stage = self._find_stage(stages, stage_uuid, "stage_uuid", project.project_hash)
        stage_type = _enum_value(stage.stage_type)
        if destination is not None:
            self._find_stage(stages, destination, "destination_stage_uuid", project.project_hash)
            if destination == stage_uuid:
                raise EncordInvalidInputError(
                    f"destination_stage_uuid is the same as stage_uuid ({stage_uuid})."
                )
        elif stage_type not in _STAGE_TYPES_BY_PATHWAY[pathway]:
            raise EncordInvalidInputError(
                f"pathway_name={pathway!r} does not apply to stage {stage.title!r} of type {stage_type}: "
                "submit applies to annotation stages, approve and reject to review stages. Use "
                "destination_stage_uuid to move tasks out of any stage."
            )

        arrived = self._arrival_test(stages, stage, pathway, destination)
        tasks = self._tasks_in_stage(stage, hashes)
        missing = [h for h in hashes if h not in tasks]
        already_moved = self._check_already_moved(project, missing, stage, arrived) if missing else []
        to_act = [h for h in hashes if h in tasks]
        if to_act:
            self._act_on_tasks(project, [tasks[h] for h in to_act], pathway, destination, arrived)
        self.log.info(
            "Project %s stage %s: %s tasks %s, %s already moved",
            project.project_hash,
            stage.title,
            len(to_act),
            pathway or "moved",
            len(already_moved),
        )
        return {
            "status": "moved" if to_act else "already_moved",
            "moved": to_act,
            "already_moved": already_moved,
        }

    def _tasks_in_stage(self, stage: Any, hashes: list[str]) -> dict[str, Any]:
        tasks: dict[str, Any] = {}
        with self._translate_errors(f"list the tasks of stage {stage.title!r}"):
            for start in range(0, len(hashes), _TASK_QUERY_CHUNK):
                chunk = hashes[start : start + _TASK_QUERY_CHUNK]
                for task in stage.get_tasks(data_hash=chunk):
                    if str(task.data_hash) in chunk:
                        tasks[str(task.data_hash)] = task
        return tasks

    @staticmethod
    def _arrival_test(
        stages: list[Any], stage: Any, pathway: str | None, destination: str | None
    ) -> tuple[Callable[[str | None], bool], str]:
        """Whether a task now in a given stage (uuid, or None) is where this action sends it, and that place.

        A move's place is its destination. Submit and approve send a task on through the workflow, so it is
        in a stage listed after ``stage``; reject sends it back, to an annotation stage listed before.
        """
        if destination is not None:
            return (lambda now: now == destination), f"stage {destination}"
        position = {str(s.uuid): index for index, s in enumerate(stages)}
        here = position[str(stage.uuid)]
        if pathway == "reject":
            back = {
                str(s.uuid)
                for s in stages[:here]
                if _enum_value(s.stage_type) in ("ANNOTATION", "CONSENSUS_ANNOTATION")
            }
            return (lambda now: now in back), f"an annotation stage before {stage.title!r}"
        return (lambda now: position.get(now or "", -1) > here), f"a stage after {stage.title!r}"

    def _check_already_moved(
        self,
        project: Project,
        missing: list[str],
        stage: Any,
        arrived: tuple[Callable[[str | None], bool], str],
    ) -> list[str]:
        test, place = arrived
        where = self._locate_tasks(project, missing)
        problems = [f"{h} (now in {where.get(h) or 'no stage'})" for h in missing if not test(where.get(h))]
        if problems:
            raise EncordNotFoundError(
                f"No task in stage {stage.title!r} ({stage.uuid}) of project {project.project_hash} for data "
                f"hashes {', '.join(problems)}, and they are not in {place} either: check the data hashes "
                "and the stage."
            )
        return missing

    def _act_on_tasks(
        self,
        project: Project,
        tasks: list[Any],
        pathway: str | None,
        destination: str | None,
        arrived: tuple[Callable[[str | None], bool], str],
    ) -> None:
        action = f"{pathway} {len(tasks)} tasks" if pathway else f"move {len(tasks)} tasks to {destination}"
        try:
            with self._translate_errors(action), project.create_bundle() as bundle:
                for task in tasks:
                    if destination is not None:
                        task.move(destination_stage_uuid=uuid.UUID(destination), bundle=bundle)
                    else:
                        getattr(task, pathway)(bundle=bundle)
        except (EncordInvalidInputError, EncordNotFoundError, EncordRetryableError):
            # The SDK retries these POSTs, so an error may follow a first attempt that went through:
            # accept the outcome when every task has arrived, otherwise report the original error.
            where = self._locate_tasks(project, [str(t.data_hash) for t in tasks])
            if not all(arrived[0](where.get(str(t.data_hash))) for t in tasks):
                raise
            self.log.warning("%s reported an error, but every task is in %s", action, arrived[1])

    def move_workflow_task(
        self,
        project_hash: str,
        data_hash: str,
        stage_uuid: str,
        pathway_name: str | None = None,
        destination_stage_uuid: str | None = None,
    ) -> dict[str, Any]:
        """Act on one task; see :meth:`move_workflow_tasks`. ``status`` is ``moved`` or ``already_moved``.

        :param project_hash: the workflow project.
        :param data_hash: the data unit whose task to act on.
        :param stage_uuid: the stage the task is in.
        :param pathway_name: submit, approve or reject.
        :param destination_stage_uuid: move the task to this stage instead.
        """
        if not isinstance(data_hash, str) or not data_hash:
            raise EncordInvalidInputError(f"Invalid data_hash={data_hash!r}: expected one data hash.")
        result = self.move_workflow_tasks(
            project_hash,
            stage_uuid,
            [data_hash],
            pathway_name=pathway_name,
            destination_stage_uuid=destination_stage_uuid,
        )
        return {**result, "data_hash": data_hash}

    # ------------------------------------------------------------------ label rows

    def _label_row_dicts(
        self,
        project: Project,
        data_title_like: str | None = None,
        workflow_stage: str | None = None,
        edited_after: Any = None,
        edited_before: Any = None,
        data_hashes: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        after = validate_datetime(edited_after, "edited_after")
        before = validate_datetime(edited_before, "edited_before")
        workflow = self._is_workflow(project)
        stage_types: dict[str, str] = {}
        stage = None
        if workflow:
            stages = self._stages(project)
            stage_types = {str(s.uuid): _enum_value(s.stage_type) for s in stages}
            if workflow_stage is not None:
                stage = self._find_stage(stages, workflow_stage, "workflow_stage", project.project_hash)
        elif workflow_stage is not None:
            self._stages(project)  # raises the manual-QA error
        with self._translate_errors(f"list the label rows of project {project.project_hash}"):
            rows = project.list_label_rows_v2(
                data_hashes=data_hashes,
                data_title_like=like_pattern(data_title_like),
                edited_after=after,
                edited_before=before,
                workflow_graph_node_title_eq=stage.title if stage is not None else None,
                include_workflow_graph_node=True,
            )
        result = []
        for row in rows:
            node = row.workflow_graph_node
            if stage is not None and (node is None or str(node.uuid) != str(stage.uuid)):
                continue
            edited = row.last_edited_at
            if edited is not None and (after or before):
                edited = edited if edited.tzinfo else edited.replace(tzinfo=timezone.utc)
                if (after and edited < after) or (before and edited >= before):
                    continue
            if workflow:
                stage_type = stage_types.get(str(node.uuid)) if node is not None else None
                task_status = TASK_STATUS_BY_STAGE_TYPE.get(stage_type or "", "QUEUED")
                label_status = "LABELLED" if row.label_hash else "NOT_LABELLED"
            else:
                label_status = _enum_value(row.label_status)
                try:
                    task_status = _enum_value(row.annotation_task_status)
                except AssertionError:
                    task_status = None
            result.append(
                {
                    "label_hash": row.label_hash,
                    "data_hash": row.data_hash,
                    "data_title": row.data_title,
                    "dataset_hash": row.dataset_hash,
                    "data_type": _enum_value(row.data_type),
                    "label_status": label_status,
                    "annotation_task_status": task_status,
                    "workflow_stage": {"uuid": str(node.uuid), "title": node.title}
                    if node is not None
                    else None,
                    "created_at": _iso(row.created_at),
                    "last_edited_at": _iso(row.last_edited_at),
                }
            )
        return result

    @staticmethod
    def _row_matches(row: dict[str, Any], statuses: list[str]) -> bool:
        return row["label_status"] in statuses or row["annotation_task_status"] in statuses

    def list_label_rows(
        self,
        project_hash: str,
        data_title_like: str | None = None,
        label_statuses: Sequence[str] | str | None = None,
        workflow_stage: str | None = None,
        edited_after: datetime | str | None = None,
        edited_before: datetime | str | None = None,
    ) -> dict[str, Any]:
        """List a project's label rows, one per data unit (unlabelled rows have ``label_hash`` None).

        On workflow projects, where the SDK raises on a row's status, the statuses are derived: the
        ``annotation_task_status`` from the type of the row's stage (DONE -> COMPLETED, REVIEW -> IN_REVIEW,
        ANNOTATION -> QUEUED) and the ``label_status`` from whether the row has labels (LABELLED or
        NOT_LABELLED). Every row carries ``workflow_stage``: ``{"uuid", "title"}``, or None.

        :param project_hash: the project's identifier.
        :param data_title_like: text the data title must contain; ``%`` makes it a LIKE pattern.
        :param label_statuses: keep rows whose label_status or annotation_task_status is one of these.
        :param workflow_stage: keep rows in this stage (uuid or title; workflow projects only).
        :param edited_after: keep rows last edited at or after this time.
        :param edited_before: keep rows last edited before this time (so that consecutive intervals
            ``[edited_after, edited_before)`` do not overlap).
        """
        statuses = validate_statuses(label_statuses)
        project = self.get_project_object(project_hash)
        rows = self._label_row_dicts(project, data_title_like, workflow_stage, edited_after, edited_before)
        if statuses:
            rows = [r for r in rows if self._row_matches(r, statuses)]
        return {"label_rows": rows}

    def check_label_status(
        self,
        project_hash: str,
        target_statuses: Sequence[str] | str | None = None,
        min_count: int | None = None,
        data_hashes: Sequence[str] | None = None,
        through_stage: str | None = None,
    ) -> dict[str, Any]:
        """Evaluate whether labelling has reached a target; the condition of the label-status sensor.

        A row matches when its label_status or annotation_task_status is in ``target_statuses`` (default
        ``["COMPLETED"]``). With ``through_stage`` (uuid or title of a workflow stage) a row matches instead
        when it is neither in that stage nor in a stage listed before it. ``done`` is true when every row
        matches, or at least ``min_count`` rows, or every row of ``data_hashes``. A project without rows is
        never done, unless ``min_count`` is 0.

        :param project_hash: the project's identifier.
        :param target_statuses: status names that count as done.
        :param min_count: done once this many rows match.
        :param data_hashes: only these data units count (each must be in the project).
        :param through_stage: done when no row is left in this stage or an earlier one.
        """
        statuses = validate_statuses(target_statuses, "target_statuses") or ["COMPLETED"]
        if min_count is not None and (
            not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 0
        ):
            raise EncordInvalidInputError(
                f"Invalid min_count={min_count!r}: expected a non-negative integer."
            )
        wanted = validate_hash_list(data_hashes, "data_hashes") if data_hashes is not None else None
        project = self.get_project_object(project_hash)
        rows = self._label_row_dicts(project)
        if wanted is not None:
            present = {r["data_hash"] for r in rows}
            absent = [h for h in wanted if h not in present]
            if absent:
                raise EncordNotFoundError(
                    f"data_hashes not in project {project.project_hash}: {', '.join(absent)}."
                )
            wanted_set = set(wanted)
            rows = [r for r in rows if r["data_hash"] in wanted_set]
        if through_stage is not None:
            stages = self._stages(project)
            target = self._find_stage(stages, through_stage, "through_stage", project.project_hash)
            upto = {str(s.uuid) for s in stages[: stages.index(target) + 1]}
            matched = [
                r for r in rows if r["workflow_stage"] is None or r["workflow_stage"]["uuid"] not in upto
            ]
        else:
            matched = [r for r in rows if self._row_matches(r, statuses)]
        if min_count is not None:
            done = len(matched) >= min_count
        else:
            done = bool(rows) and len(matched) == len(rows)
        return {
            "done": done,
            "matched": len(matched),
            "total": len(rows),
            "label_hashes": [r["label_hash"] for r in matched if r["label_hash"]],
            "data_hashes": [r["data_hash"] for r in matched],
        }

    # ------------------------------------------------------------------ COCO export

    def _export_kwargs(
        self,
        label_hashes: Sequence[str] | None,
        label_statuses: Any,
        workflow_stage: str | None,
        object_classes: Sequence[str] | None,
        edited_after: Any,
        bundle_size: int,
        edited_before: Any = None,
    ) -> dict[str, Any]:
        if not isinstance(bundle_size, int) or isinstance(bundle_size, bool) or not 1 <= bundle_size <= 1000:
            raise EncordInvalidInputError(
                f"Invalid bundle_size={bundle_size!r}: expected an integer from 1 to 1000 (Encord's limit)."
            )
        if isinstance(object_classes, str):
            object_classes = [object_classes]
        return {
            "label_hashes": validate_hash_list(label_hashes, "label_hashes")
            if label_hashes is not None
            else None,
            "label_statuses": validate_statuses(label_statuses),
            "workflow_stage": workflow_stage,
            "object_classes": list(object_classes) if object_classes is not None else None,
            "edited_after": validate_datetime(edited_after, "edited_after"),
            "edited_before": validate_datetime(edited_before, "edited_before"),
            "bundle_size": bundle_size,
        }

    def export_coco_labels(
        self,
        project_hash: str,
        label_hashes: Sequence[str] | None = None,
        label_statuses: Sequence[str] | str | None = None,
        workflow_stage: str | None = None,
        object_classes: Sequence[str] | None = None,
        edited_after: datetime | str | None = None,
        bundle_size: int = DEFAULT_BUNDLE_SIZE,
        edited_before: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Export labels as a COCO dict, without creating label rows on the server.

        Held in memory: for large projects use :meth:`export_coco_to_file`.

        :param project_hash: the project's identifier.
        :param label_hashes: only these label rows.
        :param label_statuses: only rows with one of these statuses.
        :param workflow_stage: only rows in this stage (uuid or title).
        :param object_classes: only objects of these ontology class names.
        :param edited_after: only rows edited at or after this time.
        :param bundle_size: label rows fetched per request (1-1000, default 500).
        :param edited_before: only rows edited before this time.
        """
        from airflow_provider_encord.coco import export_coco_dict

        filters = self._export_kwargs(
            label_hashes,
            label_statuses,
            workflow_stage,
            object_classes,
            edited_after,
            bundle_size,
            edited_before,
        )
        return {"coco_labels": self._run_export(export_coco_dict, project_hash, filters)}

    def export_coco_to_file(
        self,
        project_hash: str,
        fileobj: BinaryIO,
        label_hashes: Sequence[str] | None = None,
        label_statuses: Sequence[str] | str | None = None,
        workflow_stage: str | None = None,
        object_classes: Sequence[str] | None = None,
        edited_after: datetime | str | None = None,
        bundle_size: int = DEFAULT_BUNDLE_SIZE,
        edited_before: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Stream a COCO export into a binary file object and return its counts.

        The filters are those of :meth:`export_coco_labels`.

        :param project_hash: the project's identifier.
        :param fileobj: a file opened for binary writing.
        """
        from airflow_provider_encord.coco import write_coco

        filters = self._export_kwargs(
            label_hashes,
            label_statuses,
            workflow_stage,
            object_classes,
            edited_after,
            bundle_size,
            edited_before,
        )
        return self._run_export(functools.partial(write_coco, out=fileobj), project_hash, filters)

    def _run_export(self, exporter: Any, project_hash: str, filters: dict[str, Any]) -> dict[str, Any]:
        project = self.get_project_object(project_hash)
        with self._translate_errors(f"export the labels of project {project_hash} as COCO"):
            return exporter(project, **filters)

    # ------------------------------------------------------------------ datasets and uploads

    @staticmethod
    def _require_title(title: Any, param: str = "title") -> str:
        if not isinstance(title, str) or not title.strip():
            raise EncordInvalidInputError(f"Invalid {param}={title!r}: expected a non-empty string.")
        return title

    def get_dataset(self, dataset_hash: str) -> dict[str, Any]:
        """Describe a dataset (its data rows are not fetched).

        :param dataset_hash: the dataset's identifier.
        """
        dataset_hash = validate_uuid(dataset_hash, "dataset_hash")
        with self._translate_errors(f"get dataset {dataset_hash}"):
            dataset = self.get_conn().get_dataset(dataset_hash, include_data_rows=False)
        return {
            "dataset_hash": str(dataset.dataset_hash),
            "title": dataset.title,
            "description": dataset.description,
            "storage_location": getattr(dataset.storage_location, "name", dataset.storage_location),
            "backing_folder_uuid": _str_or_none(dataset.backing_folder_uuid),
        }

    def list_datasets(self, title_like: str | None = None) -> dict[str, Any]:
        """List the datasets the user can access.

        :param title_like: text the title must contain; ``%`` makes it a LIKE pattern.
        """
        with self._translate_errors("list datasets"):
            found = self.get_conn().get_datasets(title_like=like_pattern(title_like))
        return {"datasets": [self._dataset_info(item["dataset"]) for item in found]}

    @staticmethod
    def _dataset_info(info: Any) -> dict[str, Any]:
        return {
            "dataset_hash": str(info.dataset_hash),
            "title": info.title,
            "description": info.description,
            "created_at": _iso(info.created_at),
            "last_edited_at": _iso(info.last_edited_at),
            "backing_folder_uuid": _str_or_none(info.backing_folder_uuid),
        }

    def create_dataset(
        self,
        title: str,
        description: str | None = None,
        storage_location: str | None = None,
        reuse_existing: bool = False,
    ) -> dict[str, Any]:
        """Create a dataset (and its mirrored storage folder).

        :param title: the dataset title.
        :param description: an optional description.
        :param storage_location: CORD_STORAGE (default), AWS, GCP, AZURE or S3_COMPATIBLE. Encord decides the
            storage of each file from the integration used at upload; this is kept for the record.
        :param reuse_existing: return the dataset of exactly this title if one exists (safe retries).
        """
        from encord.orm.dataset import StorageLocation

        title = self._require_title(title)
        location = validate_storage_location(storage_location)
        if reuse_existing:
            with self._translate_errors(f"look up dataset {title!r}"):
                for item in self.get_conn().get_datasets(title_eq=title):
                    if item["dataset"].title == title:
                        info = item["dataset"]
                        self.log.info("Reusing dataset %s titled %r", info.dataset_hash, title)
                        return {**self._dataset_info(info), "created": False}
        with self._translate_errors(f"create dataset {title!r}"):
            response = self.get_conn().create_dataset(title, StorageLocation[location], description)
        self.log.info("Created dataset %s titled %r", response.dataset_hash, title)
        return {
            "dataset_hash": str(response.dataset_hash),
            "title": response.title,
            "backing_folder_uuid": _str_or_none(getattr(response, "backing_folder_uuid", None)),
            "created": True,
        }

    def start_upload(
        self,
        dataset_hash: str,
        integration_id: str,
        file_urls: Any,
        ignore_errors: bool = False,
        folder_uuid: str | None = None,
    ) -> dict[str, Any]:
        """Start registering cloud files in a dataset; returns at once with the job id to poll.

        :param dataset_hash: the dataset to add the files to.
        :param integration_id: the UUID of the Encord cloud integration that can read the files.
        :param file_urls: a list of cloud URLs (sorted by media type) or a registration object; see
            :func:`~airflow_provider_encord.hooks.inputs.build_upload_registration`.
        :param ignore_errors: finish as DONE even when some files fail (their errors are reported).
        :param folder_uuid: the storage folder to file the new items in; by default the dataset's own
            (mirrored) folder.
        """
        dataset_hash = validate_uuid(dataset_hash, "dataset_hash")
        integration_id = validate_uuid(integration_id, "integration_id")
        folder = validate_uuid(folder_uuid, "folder_uuid") if folder_uuid else None
        registration = build_upload_registration(file_urls)
        with self._translate_errors(f"start an upload to dataset {dataset_hash}"):
            dataset = self.get_conn().get_dataset(dataset_hash, include_data_rows=False)
            job_id = dataset.add_private_data_to_dataset_start(
                integration_id,
                registration,
                bool(ignore_errors),
                folder=uuid.UUID(folder) if folder else None,
            )
        self.log.info("Started upload job %s into dataset %s", job_id, dataset_hash)
        return {"dataset_hash": dataset_hash, "upload_job_id": str(job_id)}

    def get_upload_status(self, dataset_hash: str, upload_job_id: str) -> dict[str, Any]:
        """Check an upload job once, without waiting.

        :param dataset_hash: the dataset of the job.
        :param upload_job_id: the id :meth:`start_upload` returned.
        """
        dataset_hash = validate_uuid(dataset_hash, "dataset_hash")
        upload_job_id = validate_uuid(upload_job_id, "upload_job_id")
        with self._translate_errors(f"check upload job {upload_job_id}"):
            dataset = self.get_conn().get_dataset(dataset_hash, include_data_rows=False)
            result = dataset.add_private_data_to_dataset_get_result(upload_job_id, timeout_seconds=0)
        return {
            "dataset_hash": dataset_hash,
            "upload_job_id": upload_job_id,
            "status": _enum_value(result.status),
            "data_hashes": [d.data_hash for d in result.data_hashes_with_titles],
            "data_units": [
                {"data_hash": d.data_hash, "title": d.title} for d in result.data_hashes_with_titles
            ],
            "errors": [self._scrub(str(e)) for e in result.errors],
            "units_pending_count": result.units_pending_count,
            "units_done_count": result.units_done_count,
            "units_error_count": result.units_error_count,
            "units_cancelled_count": result.units_cancelled_count,
        }

    def upload_data_to_dataset(
        self,
        dataset_hash: str,
        integration_id: str,
        file_urls: Any,
        ignore_errors: bool = False,
        timeout: float = 3600,
        poll_interval: float = 5,
        folder_uuid: str | None = None,
    ) -> dict[str, Any]:
        """Register cloud files in a dataset and wait until the job finishes.

        Raises :class:`~airflow_provider_encord.exceptions.EncordUploadError` if the job ends in ERROR or
        CANCELLED, and :class:`~airflow_provider_encord.exceptions.EncordUploadTimeoutError` (naming the job,
        which keeps running) if it has not finished after ``timeout`` seconds.

        :param dataset_hash: the dataset to add the files to.
        :param integration_id: the UUID of the Encord cloud integration that can read the files.
        :param file_urls: a list of cloud URLs or a registration object.
        :param ignore_errors: finish as DONE even when some files fail.
        :param timeout: seconds to wait for the job.
        :param poll_interval: seconds between status checks.
        :param folder_uuid: the storage folder to file the new items in (default: the dataset's own).
        """
        if timeout is None or timeout < 0 or poll_interval is None or poll_interval < 0:
            raise EncordInvalidInputError(
                f"timeout={timeout!r} and poll_interval={poll_interval!r} must be non-negative numbers of "
                "seconds."
            )
        job = self.start_upload(
            dataset_hash, integration_id, file_urls, ignore_errors=ignore_errors, folder_uuid=folder_uuid
        )
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_upload_status(job["dataset_hash"], job["upload_job_id"])
            if status["status"] in _UPLOAD_FINAL_STATUSES:
                return self.raise_for_upload_status(status)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EncordUploadTimeoutError(
                    f"Upload job {job['upload_job_id']} into dataset {job['dataset_hash']} is still PENDING "
                    f"after {timeout} s ({status['units_done_count']} units done, "
                    f"{status['units_pending_count']} pending). It keeps running on the server: poll it with "
                    "get_upload_status, or raise timeout.",
                    dataset_hash=job["dataset_hash"],
                    upload_job_id=job["upload_job_id"],
                )
            time.sleep(min(poll_interval, remaining))

    @staticmethod
    def raise_for_upload_status(status: dict[str, Any]) -> dict[str, Any]:
        """Return a finished job's status dict, or raise if the job ended in ERROR or CANCELLED.

        :param status: a dict from :meth:`get_upload_status`.
        """
        if status["status"] in ("ERROR", "CANCELLED"):
            errors = "; ".join(status["errors"][:5]) or "no error details"
            raise EncordUploadError(
                f"Upload job {status['upload_job_id']} into dataset {status['dataset_hash']} ended "
                f"{status['status']}"
                f" ({status['units_error_count']} units failed): {errors}. Check the URLs and that the "
                "integration can read them; ignore_errors=True keeps the files that worked."
            )
        return status

    # ------------------------------------------------------------------ ontologies

    @staticmethod
    def _ontology_summary(
        ontology_hash: Any, title: str, description: str, created_at: Any
    ) -> dict[str, Any]:
        return {
            "ontology_hash": str(ontology_hash),
            "title": title,
            "description": description,
            "created_at": _iso(created_at),
        }

    def get_ontology(self, ontology_hash: str) -> dict[str, Any]:
        """Describe an ontology, with its structure (``objects``, ``classifications``).

        :param ontology_hash: the ontology's identifier.
        """
        ontology_hash = validate_uuid(ontology_hash, "ontology_hash")
        with self._translate_errors(f"get ontology {ontology_hash}"):
            ontology = self.get_conn().get_ontology(ontology_hash)
            structure = ontology.structure.to_dict()
        return {
            **self._ontology_summary(
                ontology.ontology_hash, ontology.title, ontology.description, ontology.created_at
            ),
            "last_edited_at": _iso(ontology.last_edited_at),
            "structure": structure,
        }

    def list_ontologies(self, title_like: str | None = None) -> dict[str, Any]:
        """List every ontology the user can access (all pages; the SDK call reads only the first).

        :param title_like: text the title must contain; ``%`` makes it a LIKE pattern.
        """
        from encord.utilities.ontology_user import OntologyWithUserRole

        _, params_model = _paging_models()
        params = params_model(title_like=like_pattern(title_like))
        with self._translate_errors("list ontologies"):
            rows = list(
                self.get_conn()._api_client.get_paged_iterator("ontologies", params, OntologyWithUserRole)
            )
        return {
            "ontologies": [
                self._ontology_summary(r.ontology_uuid, r.title, r.description, r.created_at) for r in rows
            ]
        }

    def create_ontology(
        self,
        title: str,
        description: str | None = None,
        structure: dict[str, Any] | str | None = None,
        reuse_existing: bool = False,
    ) -> dict[str, Any]:
        """Create an ontology.

        :param title: the ontology title.
        :param description: an optional description.
        :param structure: Encord's ontology JSON (``{"objects": [...], "classifications": [...]}``, as
            :meth:`get_ontology` returns it), its JSON text, or an ``OntologyStructure``; empty when omitted.
        :param reuse_existing: return the ontology of exactly this title if one exists (safe retries).
        """
        import json

        from encord.objects.ontology_structure import OntologyStructure

        title = self._require_title(title)
        if isinstance(structure, str):
            try:
                structure = json.loads(structure)
            except ValueError:
                raise EncordInvalidInputError("structure is a string but not valid JSON.") from None
        if structure is not None and not isinstance(structure, OntologyStructure):
            if not isinstance(structure, dict):
                raise EncordInvalidInputError(
                    f"Invalid structure of type {type(structure).__name__}: expected Encord's ontology "
                    "JSON dict."
                )
            try:
                structure = OntologyStructure.from_dict({"objects": [], "classifications": [], **structure})
            except Exception as exc:
                raise EncordInvalidInputError(
                    f"Invalid ontology structure: {type(exc).__name__}: {exc}. Each object needs id, name, "
                    "color, shape and featureNodeHash; each classification needs at least one attribute."
                ) from None
        if reuse_existing:
            found = self._find_ontology_by_title(title)
            if found is not None:
                self.log.info("Reusing ontology %s titled %r", found["ontology_hash"], title)
                return {**found, "created": False}
        with self._translate_errors(f"create ontology {title!r}"):
            try:
                ontology = self.get_conn().create_ontology(title, description or "", structure)
            except ValueError as exc:
                raise EncordInvalidInputError(f"Invalid ontology structure: {exc}") from None
        self.log.info("Created ontology %s titled %r", ontology.ontology_hash, title)
        return {
            **self._ontology_summary(
                ontology.ontology_hash, ontology.title, ontology.description, ontology.created_at
            ),
            "created": True,
        }

    def _find_ontology_by_title(self, title: str) -> dict[str, Any] | None:
        from encord.utilities.ontology_user import OntologyWithUserRole

        _, params_model = _paging_models()
        with self._translate_errors(f"look up ontology {title!r}"):
            for row in self.get_conn()._api_client.get_paged_iterator(
                "ontologies", params_model(title_eq=title), OntologyWithUserRole
            ):
                if row.title == title:
                    return self._ontology_summary(
                        row.ontology_uuid, row.title, row.description, row.created_at
                    )
        return None

    # ------------------------------------------------------------------ groups

    def list_groups(self) -> dict[str, Any]:
        """List every group of the user's organisation (all pages; the SDK call reads only the first)."""
        from encord.orm.group import Group

        params_model, _ = _paging_models()
        with self._translate_errors("list groups"):
            rows = list(
                self.get_conn()._api_client.get_paged_iterator(
                    "user/current-organisation/groups", params_model(), Group
                )
            )
        return {
            "groups": [
                {
                    "group_hash": str(g.group_hash),
                    "name": g.name,
                    "description": g.description,
                    "created_at": _iso(g.created_at),
                }
                for g in rows
            ]
        }

    # ------------------------------------------------------------------ storage

    @staticmethod
    def _folder_dict(folder: Any) -> dict[str, Any]:
        return {
            "uuid": str(folder.uuid),
            "name": folder.name,
            "description": folder.description,
            "parent_folder_uuid": _str_or_none(folder.parent_uuid),
        }

    def list_storage_folders(self, search: str | None = None) -> dict[str, Any]:
        """List storage folders at every depth whose name contains ``search``.

        :param search: text the folder name must contain.
        """
        with self._translate_errors("list storage folders"):
            folders = [
                self._folder_dict(f) for f in self.get_conn().find_storage_folders(search=search or None)
            ]
        return {"folders": folders}

    def list_storage_items(self, folder_uuid: str, search: str | None = None) -> dict[str, Any]:
        """List the items of a storage folder.

        :param folder_uuid: the folder's UUID.
        :param search: text the item name must contain.
        """
        folder_uuid = validate_uuid(folder_uuid, "folder_uuid")
        with self._translate_errors(f"list the items of storage folder {folder_uuid}"):
            folder = self.get_conn().get_storage_folder(folder_uuid)
            items = [
                {
                    "uuid": str(item.uuid),
                    "name": item.name,
                    "item_type": _enum_value(item.item_type),
                    "description": item.description,
                    "created_at": _iso(item.created_at),
                }
                for item in folder.list_items(search=search or None, include_client_metadata=False)
            ]
        return {"items": items}

    def create_storage_folder(
        self,
        name: str,
        description: str | None = None,
        parent_folder_uuid: str | None = None,
        reuse_existing: bool = False,
    ) -> dict[str, Any]:
        """Create a storage folder, at the top level or inside ``parent_folder_uuid``.

        :param name: the folder name.
        :param description: an optional description.
        :param parent_folder_uuid: the folder to create it in.
        :param reuse_existing: return the folder of exactly this name in the same parent if one exists.
        """
        name = self._require_title(name, "name")
        parent = validate_uuid(parent_folder_uuid, "parent_folder_uuid") if parent_folder_uuid else None
        client = self.get_conn()
        if reuse_existing:
            with self._translate_errors(f"look up storage folder {name!r}"):
                for folder in client.find_storage_folders(search=name):
                    if folder.name == name and _str_or_none(folder.parent_uuid) == parent:
                        self.log.info("Reusing storage folder %s named %r", folder.uuid, name)
                        return {**self._folder_dict(folder), "created": False}
        with self._translate_errors(f"create storage folder {name!r}"):
            folder = client.create_storage_folder(
                name, description, parent_folder=uuid.UUID(parent) if parent else None
            )
        self.log.info("Created storage folder %s named %r", folder.uuid, name)
        return {**self._folder_dict(folder), "created": True}


__all__ = ["DEFAULT_DOMAIN", "US_DOMAIN", "EncordHook"]
