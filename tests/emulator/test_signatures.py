"""Ed25519 request signatures: requests built with the SDK's own signing code, then altered, sent raw.

The forged requests carry a ``Content-Digest`` that matches their body, so only the Ed25519 check can refuse
them (one test sends a mismatching digest on purpose); a correctly signed twin is accepted on each transport,
so the way the requests are built is sound.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from encord.configs import SshConfig
from encord.exceptions import AuthenticationError
from encord.http.error_utils import check_error_response
from encord.http.v2.request_signer import sign_request


def _owner_key(emulator) -> Ed25519PrivateKey:
    return load_ssh_private_key(emulator.private_key.encode(), None)


def _digest(body: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def _v2_request(emulator, method: str, target: str, body: bytes | None = None) -> requests.PreparedRequest:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    return requests.Request(method, f"{emulator.url}/v2/public{target}", data=body, headers=headers).prepare()


def _send(prepared: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as session:
        return session.send(prepared, timeout=5)


def test_a_correctly_signed_v2_request_is_accepted(encord_emulator):
    request = _v2_request(encord_emulator, "GET", "/projects?titleLike=Demo%25")
    answer = _send(sign_request(request, encord_emulator.public_key_hex, _owner_key(encord_emulator)))
    assert answer.status_code == 200
    assert [p["title"] for p in answer.json()["results"]] == ["Demo project"]


def test_v2_signature_made_with_another_key_is_rejected(encord_emulator):
    request = _v2_request(encord_emulator, "GET", "/projects")
    # The owner's key id, but signed by a key the emulator does not know.
    signed = sign_request(request, encord_emulator.public_key_hex, Ed25519PrivateKey.generate())
    assert signed.headers["Content-Digest"] == _digest(b"")

    answer = _send(signed)

    assert answer.status_code == 401
    assert answer.json() == {"message": "Invalid request signature."}


def test_v2_signature_over_another_request_target_is_rejected(encord_emulator):
    signed = sign_request(
        _v2_request(encord_emulator, "GET", "/projects?titleLike=Demo%25"),
        encord_emulator.public_key_hex,
        _owner_key(encord_emulator),
    )
    signed.prepare_url(f"{encord_emulator.url}/v2/public/projects", None)  # same headers, other query

    answer = _send(signed)

    assert answer.status_code == 401
    assert [r.status for r in encord_emulator.requests] == [401]


def test_v2_signature_over_another_body_is_rejected(encord_emulator):
    signed_body = json.dumps({"title": "Signed ontology"}).encode()
    sent_body = json.dumps({"title": "Swapped ontology"}).encode()
    signed = sign_request(
        _v2_request(encord_emulator, "POST", "/ontologies", signed_body),
        encord_emulator.public_key_hex,
        _owner_key(encord_emulator),
    )
    signed.prepare_body(sent_body, None)
    signed.headers["Content-Digest"] = _digest(sent_body)  # a digest that matches what is sent

    answer = _send(signed)

    assert answer.status_code == 401
    titles = {o["title"] for o in encord_emulator.store.ontologies.values()}
    assert "Swapped ontology" not in titles and "Signed ontology" not in titles


def test_v2_request_whose_body_does_not_match_its_content_digest_is_rejected(encord_emulator):
    signed = sign_request(
        _v2_request(encord_emulator, "POST", "/ontologies", b'{"title": "Signed"}'),
        encord_emulator.public_key_hex,
        _owner_key(encord_emulator),
    )
    signed.prepare_body(b'{"title": "Other"}', None)  # the signed digest no longer matches the body

    answer = _send(signed)

    assert answer.status_code == 401
    assert "Other" not in {o["title"] for o in encord_emulator.store.ontologies.values()}


def _rpc_body(emulator) -> str:
    return json.dumps(
        {
            "query_type": "dataset",
            "query_method": "GET",
            "values": {"uid": None, "payload": {"dataset_access_settings": {"fetch_rows": False}}},
        }
    )


def _rpc_headers(emulator, key: Ed25519PrivateKey, signed_data: str) -> dict[str, str]:
    """The SDK's RPC headers for ``signed_data``, with the owner's public key in ``Authorization``."""
    headers = SshConfig(key, domain=emulator.url).define_headers(
        emulator.ids["dataset_hash"], "dataset", signed_data
    )
    signature = headers["Authorization"].partition(":")[2]
    headers["Authorization"] = f"{emulator.public_key_hex}:{signature}"
    return headers


def test_a_correctly_signed_rpc_request_is_accepted(encord_emulator):
    body = _rpc_body(encord_emulator)
    headers = _rpc_headers(encord_emulator, _owner_key(encord_emulator), body)

    answer = requests.post(f"{encord_emulator.url}/public", data=body, headers=headers, timeout=5)

    assert answer.status_code == 200
    assert answer.json()["response"]["title"] == "Demo dataset"


@pytest.mark.parametrize("forgery", ["another key", "another body"])
def test_rpc_bad_signature_gets_the_authentication_error(encord_emulator, forgery):
    body = _rpc_body(encord_emulator)
    if forgery == "another key":
        headers = _rpc_headers(encord_emulator, Ed25519PrivateKey.generate(), body)
    else:
        headers = _rpc_headers(encord_emulator, _owner_key(encord_emulator), body.replace("false", "true"))

    answer = requests.post(f"{encord_emulator.url}/public", data=body, headers=headers, timeout=5)

    assert answer.status_code == 401
    envelope = answer.json()
    assert envelope == {"status": 401, "response": ["AUTHENTICATION_ERROR"]}
    with pytest.raises(AuthenticationError):  # what the SDK makes of the envelope
        check_error_response(envelope["response"])
