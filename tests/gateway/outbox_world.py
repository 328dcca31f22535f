"""A small care network whose client an ECD owns, for the write-back outbox tests (importable via conftest)."""
from __future__ import annotations

from pathlib import Path

from fhir_builders import actor, consent

RP_ROLE = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
RT = "http://hl7.org/fhir/resource-types"
ACCESS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
CONTRIBUTE = {"coding": [{"system": "https://samenzorg.nl/fhir/CodeSystem/consent-action", "code": "contribute"}]}
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
ECD = "https://ecd-oost.example/ids"
SOURCE = "ecd-oost"


def _rp(rid, role, family, member):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": "Patient/moeder"},
            "identifier": [{"system": f"{ECD}/member", "value": member}], "name": [{"family": family}],
            "relationship": [{"coding": [{"system": RP_ROLE, "code": role}]}]}


def network(source: str = SOURCE) -> list[dict]:
    """Moeder came from the source (her meta.source), so write-back about her goes there; Ander did not."""
    return [
        {"resourceType": "Patient", "id": "moeder", "meta": {"source": f"urn:samenzorg:source:{source}"},
         "identifier": [{"system": BSN, "value": "999911120"}, {"system": f"{ECD}/client", "value": "C-17"}],
         "name": [{"family": "de Vries", "given": ["Johanna"]}]},
        {"resourceType": "Patient", "id": "ander", "name": [{"family": "Jansen"}]},
        _rp("dochter", "20", "de Vries", "M-1"),
        _rp("mentor", "15", "Mulder", "M-2"),
        {"resourceType": "RelatedPerson", "id": "buur-ander", "active": True,
         "patient": {"reference": "Patient/ander"}, "name": [{"family": "Bakker"}],
         "relationship": [{"coding": [{"system": RP_ROLE, "code": "20"}]}]},
        consent("c-dochter", "Patient/moeder", {"type": "deny", "provision": [
            {"type": "permit", "actor": [actor("RelatedPerson/dochter")], "action": [ACCESS],
             "class": [{"system": RT, "code": "Communication"}]},
            {"type": "permit", "actor": [actor("RelatedPerson/dochter")], "action": [CONTRIBUTE],
             "class": [{"system": RT, "code": "Communication"}]}]}),
        consent("c-buur", "Patient/ander", {"type": "deny", "provision": [
            {"type": "permit", "actor": [actor("RelatedPerson/buur-ander")], "action": [CONTRIBUTE],
             "class": [{"system": RT, "code": "Communication"}]}]}),
    ]


def message(sender: str = "RelatedPerson/dochter", patient: str = "Patient/moeder", text: str = "Medicijnen gegeven.") -> dict:
    return {"resourceType": "Communication", "status": "completed", "subject": {"reference": patient},
            "sender": {"reference": sender}, "sent": "2026-11-30T10:00:00+01:00",
            "payload": [{"contentString": text}]}


def write_config(folder: Path, body: str) -> str:
    path = Path(folder) / "samenzorg.toml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def fhir_source(base_url: str, name: str = SOURCE, extra: str = "") -> str:
    return f'[sources.{name}]\nkind = "fhir"\nbase_url = "{base_url}"\ntimeout = {{ connect = 2, read = 5 }}\n{extra}'


class World:
    """A gateway (Flask test client) whose sources are `config`, holding `network()`."""

    def __init__(self, settings, mint, config: str, source: str = SOURCE):
        from connectors.config import load_config
        from gateway import create_app
        from gateway.storage.db import make_engine

        self.settings = settings.with_(config=config)
        self.config = load_config(config)
        self.app = create_app(self.settings)
        self.http = self.app.test_client()
        self.mint = mint
        self.engine = make_engine(settings.database_url)
        self.system = self.headers(None)
        for r in network(source):
            resp = self.http.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=self.system)
            assert resp.status_code == 201, resp.get_json()

    def headers(self, fhir_user):
        token = self.mint("system/*.cruds") if fhir_user is None else self.mint("user/*.cruds", fhir_user=fhir_user)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    def write(self, text="Medicijnen gegeven.", sender="RelatedPerson/dochter") -> str:
        """The daughter (or `sender`) adds a logbook message; its id."""
        resp = self.http.post("/fhir/Communication", json=message(sender, text=text), headers=self.headers(sender))
        assert resp.status_code == 201, resp.get_json()
        return resp.headers["Location"].split("/")[-3]

    def rows(self):
        from sqlalchemy import select

        from gateway.storage.tables import outbox

        with self.engine.connect() as conn:
            return conn.execute(select(outbox).order_by(outbox.c.id)).all()

    def counts(self) -> dict:
        from gateway.outbox.admin import counts

        with self.engine.connect() as conn:
            return counts(conn)

    def due_now(self) -> None:
        """Time passes: every pending item is due (instead of the test sleeping through a back-off)."""
        from sqlalchemy import update

        from gateway import fhirtime
        from gateway.storage.tables import outbox

        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.state == "pending").values(next_attempt_at=fhirtime.now()))

    def deliverer(self, **policy):
        from gateway.outbox.delivery import Deliverer, RetryPolicy

        return Deliverer(self.engine, self.config, RetryPolicy(**{"base": 0.0, **policy}))

    def close(self):
        self.app.extensions["samenzorg.engine"].dispose()
        self.engine.dispose()
