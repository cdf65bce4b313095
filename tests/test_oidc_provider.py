"""The test OpenID Connect provider, driven by a real client: Authlib's requests OAuth2Session.

Why: the browser tests trust this provider to behave like a real one, so these check the whole
authorisation-code flow over HTTP (discovery, the authorize redirect, the token exchange with
PKCE, the id_token's signature against the JWKS, userinfo) and the refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oidc_provider import OidcProvider

CLIENT_ID = "userbatch-test"
CLIENT_SECRET = "not-a-real-secret"
REDIRECT_URI = "http://127.0.0.1:1/oauth2callback"
ALICE = {"sub": "u-1", "email": "alice@example.com", "email_verified": True, "name": "Alice"}


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI]) as running:
        yield running


def _session() -> OAuth2Session:
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid email profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )


def _authorize(client: OAuth2Session, metadata: dict[str, Any], verifier: str, nonce: str) -> str:
    """Follow /authorize without a browser; return where it sends the browser back to."""
    url, _state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    location: str = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return location


def test_code_flow_signs_in_the_identity_with_a_verifiable_id_token(
    provider: OidcProvider,
) -> None:
    provider.identity = ALICE
    client = _session()
    metadata = requests.get(provider.metadata_url, timeout=10).json()
    assert metadata["issuer"] == provider.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]

    verifier, nonce = generate_token(48), generate_token(20)
    location = _authorize(client, metadata, verifier, nonce)
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer"

    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    assert decoded.header["kid"] == provider.key.kid
    # The same checks Authlib's OIDC client (so st.login) makes: iss, aud, exp, iat, nonce, at_hash.
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [provider.issuer]}},
        {"nonce": nonce, "client_id": CLIENT_ID, "access_token": token["access_token"]},
    )
    claims.validate()
    assert {k: claims[k] for k in ALICE} == ALICE

    assert client.get(metadata["userinfo_endpoint"], timeout=10).json() == ALICE
    bogus = {"Authorization": "Bearer nope"}
    assert requests.get(metadata["userinfo_endpoint"], headers=bogus, timeout=10).status_code == 401
    assert provider.requests == [
        "/.well-known/openid-configuration",
        "/authorize",
        "/token",
        "/jwks",
        "/userinfo",
        "/userinfo",
    ]


def test_no_identity_redirects_back_with_access_denied(provider: OidcProvider) -> None:
    provider.identity = None
    client = _session()
    url, state = client.create_authorization_url(
        f"{provider.issuer}/authorize", code_verifier=generate_token(48), nonce="n"
    )
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    assert location == f"{REDIRECT_URI}?state={state}&error=access_denied"


def test_a_code_works_once_only(provider: OidcProvider) -> None:
    provider.identity = ALICE
    client = _session()
    metadata = requests.get(provider.metadata_url, timeout=10).json()
    verifier = generate_token(48)
    location = _authorize(client, metadata, verifier, "n")
    endpoint = metadata["token_endpoint"]
    client.fetch_token(endpoint, authorization_response=location, code_verifier=verifier)
    with pytest.raises(OAuthError) as refused:
        client.fetch_token(endpoint, authorization_response=location, code_verifier=verifier)
    assert refused.value.error == "invalid_grant"


def test_wrong_verifier_secret_or_redirect_uri_is_refused(provider: OidcProvider) -> None:
    provider.identity = ALICE
    client = _session()
    metadata = requests.get(provider.metadata_url, timeout=10).json()
    endpoint = metadata["token_endpoint"]

    location = _authorize(client, metadata, generate_token(48), "n")
    with pytest.raises(OAuthError) as refused:
        client.fetch_token(endpoint, authorization_response=location, code_verifier="x" * 48)
    assert refused.value.error == "invalid_grant"

    verifier = generate_token(48)
    location = _authorize(client, metadata, verifier, "n")
    impostor = OAuth2Session(CLIENT_ID, "wrong", redirect_uri=REDIRECT_URI)
    with pytest.raises(OAuthError) as refused:
        impostor.fetch_token(endpoint, authorization_response=location, code_verifier=verifier)
    assert refused.value.error == "invalid_client"

    elsewhere = {"client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:2/oauth2callback"}
    answer = requests.get(
        metadata["authorization_endpoint"], params=elsewhere, allow_redirects=False, timeout=10
    )
    assert (answer.status_code, answer.text) == (400, "redirect_uri not registered")
