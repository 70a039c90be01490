"""The connection: client construction, domain, auth forms, request settings, the form and test_connection."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from airflow_provider_encord import __version__
from airflow_provider_encord.exceptions import EncordConfigurationError
from airflow_provider_encord.hooks.encord import DEFAULT_DOMAIN, EncordHook


def _key_lines(key_text: str) -> list[str]:
    return [line for line in key_text.splitlines() if len(line) >= 16 and "-----" not in line]


def _assert_no_key_material(message: str, key_text: str) -> None:
    assert "PRIVATE KEY" not in message
    for line in _key_lines(key_text):
        assert line not in message


def test_class_attributes():
    assert EncordHook.conn_name_attr == "encord_conn_id"
    assert EncordHook.default_conn_name == "encord_default"
    assert EncordHook.conn_type == "encord"
    assert EncordHook.hook_name == "Encord"


def test_constructing_the_hook_touches_nothing():
    hook = EncordHook(encord_conn_id="no_such_connection_anywhere")
    assert hook.encord_conn_id == "no_such_connection_anywhere"
    assert hook._client is None


@pytest.mark.parametrize("auth", ["ssh_key", "key_path", "bearer"])
def test_every_auth_form_connects(shared_emulator, make_hook, auth):
    shared_emulator.clear_requests()
    hook = make_hook(shared_emulator, auth=auth)
    ok, message = hook.test_connection()
    assert ok, message
    assert shared_emulator.url in message
    requests = shared_emulator.requests
    assert len(requests) == 1, "test_connection makes exactly one request"
    assert requests[0].status == 200
    assert requests[0].user_agent.endswith(f"airflow-provider-encord/{__version__}")


def test_client_is_built_lazily_and_cached(shared_emulator, make_hook):
    shared_emulator.clear_requests()
    hook = make_hook(shared_emulator)
    client = hook.get_conn()
    assert hook.get_conn() is client
    assert shared_emulator.requests == [], "building the client sends nothing"


def test_request_settings_come_from_extras(shared_emulator, make_hook):
    hook = make_hook(
        shared_emulator,
        extra={"max_retries": "5", "backoff_factor": "0.5", "read_timeout": 240, "connect_timeout": 7},
    )
    settings = hook.get_conn().user_config.config.requests_settings
    assert settings.max_retries == 5
    assert settings.backoff_factor == 0.5
    assert settings.read_timeout == 240
    assert settings.connect_timeout == 7
    assert settings.write_timeout == 180
    default = make_hook(shared_emulator).get_conn().user_config.config.requests_settings
    assert default.read_timeout > 60, "upload result polls may be held open for 60 s"


@pytest.mark.parametrize(
    ("bad", "advice"),
    [
        ({"read_timeout": "soon"}, "whole number of seconds of at least 1"),
        ({"connect_timeout": 0}, "whole number of seconds of at least 1"),
        ({"write_timeout": 0.5}, "whole number of seconds"),
        ({"max_retries": -1}, "whole number of at least 0"),
        ({"max_retries": 2.7}, "whole number"),
        ({"max_retries": True}, "whole number"),
        ({"backoff_factor": "nan"}, "a number of at least 0"),
    ],
)
def test_bad_request_settings_are_configuration_errors(shared_emulator, make_hook, bad, advice):
    hook = make_hook(shared_emulator, extra=bad)
    shared_emulator.clear_requests()
    with pytest.raises(EncordConfigurationError, match=next(iter(bad))) as info:
        hook.get_conn()
    assert advice in str(info.value)
    assert shared_emulator.requests == []


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, DEFAULT_DOMAIN),
        ("https://api.us.encord.com/", None, "https://api.us.encord.com"),
        ("api.us.encord.com", None, "https://api.us.encord.com"),
        ("127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:9000", None, "http://127.0.0.1:9000"),
        ("http://127.0.0.1:9000", 9000, "http://127.0.0.1:9000"),
        ("[::1]:8080", None, "http://[::1]:8080"),
        ("localhost", 8080, "http://localhost:8080"),
    ],
)
def test_domain(shared_emulator, make_hook, host, port, expected):
    hook = make_hook(shared_emulator, host=host, port=port)
    assert hook.domain == expected


@pytest.mark.parametrize(
    ("host", "port", "reason"),
    [
        ("https://api.encord.com/v2", None, "has a path"),
        ("https://api.encord.com?region=us", None, "query"),
        ("https://api.encord.com#us", None, "fragment"),
        ("ftp://api.encord.com", None, "is not an Encord API domain"),
        ("https://api.encord.com:http", None, "is not an Encord API domain"),
        ("https://api.encord.com:8443", 443, "names port 8443 but the port field says 443"),
        ("https://me:s3cret@api.encord.com", None, "user name or password"),
    ],
)
def test_a_host_that_is_not_a_bare_domain_is_rejected(shared_emulator, make_hook, host, port, reason):
    hook = make_hook(shared_emulator, host=host, port=port)
    shared_emulator.clear_requests()
    with pytest.raises(EncordConfigurationError, match=reason) as info:
        hook.get_conn()
    assert "s3cret" not in str(info.value) and "bare domain" in str(info.value)
    assert shared_emulator.requests == []


def test_key_with_escaped_newlines_works(shared_emulator, make_hook):
    hook = make_hook(shared_emulator, password=shared_emulator.private_key.replace("\n", "\\n"))
    assert hook.test_connection()[0]


def test_unknown_key_is_refused_without_key_material(shared_emulator, make_hook):
    other = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        .decode()
    )
    ok, message = make_hook(shared_emulator, password=other).test_connection()
    assert not ok
    assert "rejected the credentials" in message and "https://api.us.encord.com" in message
    _assert_no_key_material(message, other)


def test_wrong_region_is_refused(shared_emulator, encord_emulator_factory, make_hook):
    """A key registered with one Encord (region) is unknown to another."""
    other_region = encord_emulator_factory(seed="empty")
    ok, message = make_hook(shared_emulator, host=other_region.url).test_connection()
    assert not ok
    assert other_region.url in message and "region" in message
    _assert_no_key_material(message, shared_emulator.private_key)


def test_rsa_key_is_refused_without_echoing_it(shared_emulator, make_hook):
    """The SDK's own error for an RSA key contains the whole key: it must not surface."""
    rsa_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        .decode()
    )
    hook = make_hook(shared_emulator, password=rsa_key)
    ok, message = hook.test_connection()
    assert not ok
    assert "not an unencrypted Ed25519 key" in message and "ssh-keygen -t ed25519" in message
    _assert_no_key_material(message, rsa_key)
    with pytest.raises(EncordConfigurationError) as info:
        hook.get_conn()
    assert info.value.__cause__ is None and info.value.__suppress_context__
    _assert_no_key_material(str(info.value), rsa_key)


def test_pkcs8_key_is_refused(shared_emulator, make_hook):
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    ok, message = make_hook(shared_emulator, password=pem).test_connection()
    assert not ok
    assert "PEM/PKCS#8" in message
    _assert_no_key_material(message, pem)


def test_public_key_pasted_instead_of_private(shared_emulator, make_hook):
    public = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
        .decode()
    )
    ok, message = make_hook(shared_emulator, password=public).test_connection()
    assert not ok
    assert "public key" in message
    assert public.split()[1] not in message


def test_missing_credentials(shared_emulator, make_hook):
    hook = make_hook(shared_emulator, password=None)
    ok, message = hook.test_connection()
    assert not ok
    assert "no credentials" in message and "ssh_private_key_path" in message and "bearer_token" in message


def test_unreadable_key_file(shared_emulator, make_hook, tmp_path):
    hook = make_hook(shared_emulator, auth="key_path", extra={"ssh_private_key_path": str(tmp_path / "nope")})
    ok, message = hook.test_connection()
    assert not ok
    assert "cannot read ssh_private_key_path" in message


def test_wrong_bearer_token(shared_emulator, make_hook):
    hook = make_hook(shared_emulator, auth="bearer", extra={"bearer_token": "not-the-token-1234567890"})
    ok, message = hook.test_connection()
    assert not ok
    assert "rejected the credentials" in message and "region" in message
    assert "not-the-token-1234567890" not in message


def test_unreachable_domain(make_hook, shared_emulator):
    import socket

    with socket.socket() as sock:  # a port where nothing listens once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = make_hook(shared_emulator, host=f"http://127.0.0.1:{port}", extra={"max_retries": 0})
    ok, message = hook.test_connection()
    assert not ok
    assert "server or network error" in message and str(port) in message


# ---------------------------------------------------------------------------------------- the form


def test_form_fields_cover_every_extra_the_hook_reads():
    fields = {name: (label, kind, least) for name, label, kind, least in EncordHook.connection_form_fields()}
    assert set(fields) == {
        "ssh_private_key_path",
        "bearer_token",
        "max_retries",
        "backoff_factor",
        "connect_timeout",
        "read_timeout",
        "write_timeout",
    }
    assert fields["bearer_token"][1] == "password", "the token is masked"
    assert fields["read_timeout"][1] == "integer"
    assert fields["backoff_factor"][1] == "string", "Airflow 2.11 accepts no FloatField"
    assert fields["read_timeout"][2] == 1 and fields["max_retries"][2] == 0, "no zero timeouts in the form"


def test_ui_field_behaviour_hides_and_relabels():
    behaviour = EncordHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) >= {"schema", "port", "login"}
    assert "host" in behaviour["relabeling"] and "password" in behaviour["relabeling"]
    assert "api.us.encord.com" in behaviour["placeholders"]["host"]
    assert behaviour["placeholders"]["read_timeout"] == "180"


def test_airflow_3_form_is_read_from_provider_info():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    names = {field[0] for field in EncordHook.connection_form_fields()}
    assert {f"extra__encord__{name}" for name in names} <= set(widgets)
    assert widgets["extra__encord__bearer_token"].is_sensitive
    assert not widgets["extra__encord__read_timeout"].is_sensitive
    behaviour = manager.field_behaviours["encord"]
    assert "login" in behaviour["hidden_fields"]
    assert behaviour["relabeling"]["password"].startswith("SSH private key")


def test_airflow_2_widgets():
    pytest.importorskip("wtforms")
    pytest.importorskip("flask_appbuilder")
    from wtforms import BooleanField, IntegerField, PasswordField, StringField

    widgets = EncordHook.get_connection_form_widgets()
    assert set(widgets) == {field[0] for field in EncordHook.connection_form_fields()}
    allowed = (IntegerField, PasswordField, StringField, BooleanField)
    assert all(w.field_class in allowed for w in widgets.values())


def test_extras_with_the_form_prefix_are_read(shared_emulator, make_hook):
    hook = make_hook(
        shared_emulator, password=None, extra={"extra__encord__bearer_token": shared_emulator.bearer_token}
    )
    assert hook.test_connection()[0]
