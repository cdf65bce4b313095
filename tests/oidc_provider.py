"""A small but real OpenID Connect provider for tests, on 127.0.0.1 in a background thread.

Why: `st.login` needs a real OIDC provider (discovery, the code flow with PKCE, RS256 id_tokens) and
the tests reach nothing beyond this machine. It signs in whoever the test says, with no login page.

    with OidcProvider("client-1", "s3cret", ["http://127.0.0.1:8501/oauth2callback"]) as provider:
        provider.identity = {"sub": "u-1", "email": "alice@example.com", "email_verified": True}
        ...  # point the client at provider.metadata_url
        assert "/token" in provider.requests

- `OidcProvider(client_id, client_secret, redirect_uris)`: one registered confidential client;
  a context manager that starts the server on a free port and stops it on exit.
- `.issuer`: its base URL (`http://127.0.0.1:PORT`); `.metadata_url`: the discovery document.
- `.identity`: the claims the next `/authorize` signs in (must hold `sub`); `None` refuses the
  sign-in with `error=access_denied`. Claims are copied at `/authorize`.
- `.requests`: the paths served, in order, without the query, for assertions.

Endpoints: `/.well-known/openid-configuration`, `/authorize`, `/token` (authorization_code grant,
client_secret_basic or client_secret_post, single-use codes, PKCE S256), `/jwks`, `/userinfo`
(Bearer access token). The JOSE parts use joserfc, the JOSE library Authlib itself builds on
(Authlib's own `authlib.jose` is deprecated). The RSA key is new for every provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

ID_TOKEN_LIFETIME = 300  # seconds


@dataclass(frozen=True)
class _Grant:
    """What an authorisation code stands for until it is exchanged."""

    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    claims: dict[str, Any]


def _b64url_sha256(value: str, half: bool = False) -> str:
    """base64url(SHA-256(value)) without padding: PKCE S256, or at_hash with `half`."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: 16 if half else 32]).rstrip(b"=").decode("ascii")


class OidcProvider:
    """The provider: one client, one signing key, codes and tokens kept in memory."""

    def __init__(self, client_id: str, client_secret: str, redirect_uris: Sequence[str]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.identity: dict[str, Any] | None = None
        self.requests: list[str] = []
        self.key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
        self.key.ensure_kid()
        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = _Server(self)
        # A short poll interval keeps shutdown quick (the default waits up to half a second).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def metadata(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """Answer /authorize: (400, reason) for a bad client, else (302, where to send the browser)."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return 400, "unknown client_id"
        if redirect_uri not in self.redirect_uris:
            return 400, "redirect_uri not registered"
        reply = {"state": query["state"]} if "state" in query else {}
        challenge, method = query.get("code_challenge"), query.get("code_challenge_method", "plain")
        identity = self.identity
        if query.get("response_type") != "code":
            reply["error"] = "unsupported_response_type"
        elif "openid" not in query.get("scope", "").split():
            reply["error"] = "invalid_scope"
        elif challenge is not None and method != "S256":
            reply["error"], reply["error_description"] = "invalid_request", "PKCE needs S256"
        elif identity is None:
            reply["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            grant = _Grant(redirect_uri, query.get("nonce"), challenge, dict(identity))
            with self._lock:
                self._codes[code] = grant
            reply["code"] = code
        return 302, redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(reply)

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        """Answer /token: exchange a code for an access token and a signed id_token."""
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
            except ValueError:
                return 401, {"error": "invalid_client"}
            user, _, password = decoded.partition(":")
            client_id, client_secret = unquote_plus(user), unquote_plus(password)
        if client_id != self.client_id or not hmac.compare_digest(
            (client_secret or "").encode(), self.client_secret.encode()
        ):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:  # Single use: a code is gone once presented, right or wrong.
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not hmac.compare_digest(_b64url_sha256(verifier), grant.code_challenge):
                return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = grant.claims
        now = int(time.time())
        claims = {**grant.claims, "iss": self.issuer, "aud": self.client_id, "iat": now}
        claims |= {"exp": now + ID_TOKEN_LIFETIME, "at_hash": _b64url_sha256(access_token, True)}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        header = {"alg": "RS256", "kid": self.key.kid}
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_LIFETIME,
            "scope": "openid email profile",
            "id_token": jwt.encode(header, claims, self.key, algorithms=["RS256"]),
        }

    def record(self, path: str) -> None:
        """Note a path served, for `.requests`."""
        with self._lock:
            self.requests.append(path)

    def userinfo(self, authorization: str | None) -> dict[str, Any] | None:
        """The claims behind a Bearer access token, or None for a missing or unknown one."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            return self._access_tokens.get(token) if scheme.lower() == "bearer" else None


class _Server(ThreadingHTTPServer):
    """The HTTP server, bound to a free port on 127.0.0.1, that knows its provider."""

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider


class _Handler(BaseHTTPRequestHandler):
    """Routes each request to the provider and writes its answer."""

    server: _Server

    def do_GET(self) -> None:
        provider = self.server.provider
        url = urlsplit(self.path)
        provider.record(url.path)
        authorization = self.headers.get("Authorization")
        if url.path == "/.well-known/openid-configuration":
            self._json(200, provider.metadata())
        elif url.path == "/jwks":
            self._json(200, {"keys": [provider.key.as_dict(private=False)]})
        elif url.path == "/authorize":
            status, text = provider.authorize(_single(url.query))
            if status == 302:
                self._send(302, b"", "text/plain", {"Location": text})
            else:
                self._send(status, text.encode(), "text/plain; charset=utf-8")
        elif url.path == "/token" and self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            form = _single(self.rfile.read(length).decode("utf-8"))
            status, body = provider.token(form, authorization)
            extra = {"WWW-Authenticate": 'Basic realm="token"'} if status == 401 else {}
            self._json(status, body, {"Cache-Control": "no-store", **extra})
        elif url.path == "/userinfo":
            claims = provider.userinfo(authorization)
            if claims is None:
                self._json(401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"})
            else:
                self._json(200, claims)
        else:
            self._send(404, b"not found", "text/plain")

    do_POST = do_GET

    def _json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": content_type, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet; `.requests` tells what was served."""


def _single(query: str) -> dict[str, str]:
    """A form or query string as a dict, the first value of each name."""
    return {name: values[0] for name, values in parse_qs(query, keep_blank_values=True).items()}
