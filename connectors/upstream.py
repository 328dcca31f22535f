"""The HTTP session every connector talks to its source with.

Always a connect and read timeout; retries with exponential back-off and
jitter on connection errors, 429 and 5xx (honouring Retry-After), done by
urllib3's Retry rather than by hand; TLS verification on unless the source
says otherwise; bearer, basic or OAuth2 client-credentials auth with the
secrets read from the environment.
"""
from __future__ import annotations

import threading
import time
from typing import Mapping

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .config import Auth, Source

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 300.0  # seconds: a longer Retry-After is the worker's business, not a blocked sync


class UpstreamSession(requests.Session):
    """A requests.Session whose every request carries the source's timeout."""

    def __init__(self, timeout: tuple[float, float]):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):  # noqa: D401 - requests' signature
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def retry_policy(retries: int, backoff: float = 0.5) -> Retry:
    # POST is retried too: every push carries an idempotency key (a conditional create), so a retry
    # after a lost answer cannot write twice.
    return Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                 backoff_jitter=backoff, backoff_max=60, status_forcelist=RETRY_STATUSES, allowed_methods=None,
                 respect_retry_after_header=True, raise_on_status=False)


def session_for(source: Source, environ: Mapping[str, str] | None = None, *, backoff: float = 0.5) -> UpstreamSession:
    session = UpstreamSession((source.connect_timeout, source.read_timeout))
    adapter = HTTPAdapter(max_retries=retry_policy(source.retries, backoff))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = source.verify_tls
    session.headers["User-Agent"] = "samenzorg-connector"
    session.auth = auth_for(source.auth, session, environ)
    return session


def auth_for(auth: Auth, session: requests.Session, environ: Mapping[str, str] | None = None):
    if auth.type == "bearer":
        return _Bearer(lambda: auth.secret(auth.token_env, environ))
    if auth.type == "basic":
        return requests.auth.HTTPBasicAuth(auth.username, auth.secret(auth.password_env, environ))
    if auth.type == "client_credentials":
        return _ClientCredentials(auth, auth.secret(auth.client_secret_env, environ), session)
    return None


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self._token = token

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self._token()}"
        return r


class _ClientCredentials(requests.auth.AuthBase):
    """An OAuth2 client-credentials token (fetched by Authlib), renewed shortly before it expires."""

    def __init__(self, auth: Auth, secret: str, session: requests.Session):
        from authlib.integrations.requests_client import OAuth2Session

        self._oauth = OAuth2Session(auth.client_id, secret, scope=auth.scope,
                                    token_endpoint_auth_method="client_secret_basic")
        self._oauth.timeout = session.timeout if isinstance(session, UpstreamSession) else (5, 30)
        self._oauth.verify = session.verify
        self._url = auth.token_url
        self._token: dict | None = None
        self._lock = threading.Lock()

    def _access_token(self) -> str:
        with self._lock:
            if not self._token or self._token.get("expires_at", 0) - 30 < time.time():
                self._token = self._oauth.fetch_token(self._url, grant_type="client_credentials",
                                                      timeout=self._oauth.timeout, verify=self._oauth.verify)
            return self._token["access_token"]

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self._access_token()}"
        return r
