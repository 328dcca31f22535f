"""Sources of record (ECDs) from `samenzorg.toml` (path from SAMENZORG_CONFIG).

The file names credentials by environment variable and never holds them:
a secret in the file is refused, so a config file can be shared and committed.

    [sources.ecd-oost]
    kind = "fhir"                       # fhir | network-json | csv
    base_url = "https://ecd-oost.example/fhir"
    schedule = "15m"                    # how often `samenzorg worker` syncs it (s, m, h)
    patients = "synced"                 # which patients it owns (see `owns`)
    verify_tls = true
    timeout = { connect = 5, read = 30 }
    retries = 5
    auth = { type = "client_credentials", token_url = "https://ecd-oost.example/oauth/token",
             client_id = "samenzorg", client_secret_env = "ECD_OOST_SECRET", scope = "system/*.rs" }
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

KINDS = ("fhir", "network-json", "csv")
AUTH_TYPES = ("none", "bearer", "basic", "client_credentials")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DURATION = re.compile(r"^(\d+)\s*([smh])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600}
# Keys that would hold a secret itself: the file names an environment variable instead.
_SECRET_KEYS = ("token", "password", "client_secret", "secret")


class ConfigError(ValueError):
    """The config file is wrong; the message names the source and the key."""


@dataclass(frozen=True)
class Auth:
    type: str = "none"
    token_env: str | None = None          # bearer
    username: str | None = None           # basic
    password_env: str | None = None       # basic
    token_url: str | None = None          # client_credentials
    client_id: str | None = None
    client_secret_env: str | None = None
    scope: str | None = None

    def secret(self, env_name: str | None, environ: Mapping[str, str] | None = None) -> str:
        environ = os.environ if environ is None else environ
        if not env_name or not environ.get(env_name):
            raise ConfigError(f"the environment variable {env_name or '(unnamed)'} is not set")
        return environ[env_name]


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    base_url: str | None = None           # fhir, and network-json/csv over HTTP
    folder: str | None = None             # network-json/csv as files dropped in a folder
    schedule_seconds: int | None = None   # None: only `samenzorg sync NAME` runs it
    patients: str | tuple[str, ...] = "synced"
    verify_tls: bool = True
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 5
    auth: Auth = field(default_factory=Auth)
    options: Mapping[str, object] = field(default_factory=dict)  # kind-specific (e.g. csv column maps)

    @property
    def uri(self) -> str:
        """What `meta.source` of every resource from this source holds."""
        return f"urn:samenzorg:source:{self.name}"

    def owns(self, patient: Mapping) -> bool:
        """Whether write-back about this Patient goes to this source.

        "synced" (the default): the patients this source delivered (their `meta.source`).
        A list of `system|value` identifiers, or of `Organization/<id>` managing organisations:
        those patients too, so a source may own clients it has not sent yet.
        """
        if (patient.get("meta") or {}).get("source") == self.uri:
            return True
        if self.patients == "synced":
            return False
        tokens = {f"{i.get('system')}|{i.get('value')}" for i in patient.get("identifier") or []}
        org = (patient.get("managingOrganization") or {}).get("reference")
        return any(p in tokens or p == org for p in self.patients)


@dataclass(frozen=True)
class Config:
    sources: Mapping[str, Source]
    path: str | None = None

    def source(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"no source named '{name}' (configured: {known})") from None

    def owner_of(self, patient: Mapping) -> Source | None:
        for source in self.sources.values():
            if source.owns(patient):
                return source
        return None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """The sources from `path`, else SAMENZORG_CONFIG, else ./samenzorg.toml; none when absent."""
    path = path or os.environ.get("SAMENZORG_CONFIG") or "samenzorg.toml"
    p = Path(path)
    if not p.is_file():
        if os.environ.get("SAMENZORG_CONFIG") and str(path) == os.environ["SAMENZORG_CONFIG"]:
            raise ConfigError(f"SAMENZORG_CONFIG names {path}, which is not a file")
        return Config(sources={}, path=None)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


def parse_config(data: Mapping, path: str | None = None) -> Config:
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise ConfigError("[sources] must be a table of tables")
    unknown = set(data) - {"sources"}
    if unknown:
        raise ConfigError(f"unknown top-level keys: {', '.join(sorted(unknown))}")
    return Config(sources={name: _source(name, body) for name, body in sources.items()}, path=path)


def _source(name: str, body: object) -> Source:
    where = f"source '{name}'"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a name is lowercase letters, digits and '-' (at most 63)")
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table")
    kind = body.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    base_url, folder = body.get("base_url"), body.get("folder")
    if kind == "fhir" and not base_url:
        raise ConfigError(f"{where}: a fhir source needs base_url")
    if kind != "fhir" and bool(base_url) == bool(folder):
        raise ConfigError(f"{where}: give exactly one of base_url or folder")
    if base_url and not (isinstance(base_url, str) and base_url.startswith(("https://", "http://"))):
        raise ConfigError(f"{where}: base_url must be an http(s) URL")
    timeout = body.get("timeout", {})
    if not isinstance(timeout, dict):
        raise ConfigError(f"{where}: timeout is a table {{ connect = 5, read = 30 }}")
    patients = body.get("patients", "synced")
    if patients != "synced" and not (isinstance(patients, list) and all(isinstance(p, str) for p in patients)):
        raise ConfigError(f"{where}: patients is \"synced\" or a list of 'system|value' / 'Organization/<id>'")
    known = {"kind", "base_url", "folder", "schedule", "patients", "verify_tls", "timeout", "retries", "auth",
             "options"}
    unknown = set(body) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
    return Source(
        name=name, kind=kind, base_url=base_url.rstrip("/") if base_url else None, folder=folder,
        schedule_seconds=_duration(where, body.get("schedule")),
        patients=patients if patients == "synced" else tuple(patients),
        verify_tls=_bool(where, "verify_tls", body.get("verify_tls", True)),
        connect_timeout=_positive(where, "timeout.connect", timeout.get("connect", 5)),
        read_timeout=_positive(where, "timeout.read", timeout.get("read", 30)),
        retries=int(_positive(where, "retries", body.get("retries", 5), allow_zero=True)),
        auth=_auth(where, body.get("auth", {"type": "none"})),
        options=body.get("options", {}),
    )


def _auth(where: str, body: object) -> Auth:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: auth must be a table")
    for key in _SECRET_KEYS:
        if key in body:
            raise ConfigError(f"{where}: auth.{key} would put a secret in the file; "
                              f"name an environment variable with auth.{key}_env")
    kind = body.get("type", "none")
    if kind not in AUTH_TYPES:
        raise ConfigError(f"{where}: auth.type must be one of {', '.join(AUTH_TYPES)}")
    needs = {"bearer": ("token_env",), "basic": ("username", "password_env"),
             "client_credentials": ("token_url", "client_id", "client_secret_env")}.get(kind, ())
    missing = [k for k in needs if not body.get(k)]
    if missing:
        raise ConfigError(f"{where}: auth type {kind} needs {', '.join('auth.' + k for k in missing)}")
    allowed = {"type", "token_env", "username", "password_env", "token_url", "client_id", "client_secret_env",
               "scope"}
    unknown = set(body) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown auth keys: {', '.join(sorted(unknown))}")
    return Auth(**{k: body[k] for k in body})


def _duration(where: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m or int(m.group(1)) == 0:
        raise ConfigError(f"{where}: schedule is a duration like \"90s\", \"15m\" or \"1h\"")
    return int(m.group(1)) * _SECONDS[m.group(2)]


def _bool(where: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false")
    return value


def _positive(where: str, key: str, value: object, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ConfigError(f"{where}: {key} must be a number above {'or at ' if allow_zero else ''}0")
    return float(value)
