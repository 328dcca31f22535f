"""Small builders for the gateway tests' FHIR resources (importable via conftest's sys.path entry)."""

IRCP = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"


def consent(cid, patient, provision, status="active", **extra):
    """A patient-privacy Consent of `patient` with the given provision tree."""
    return {"resourceType": "Consent", "id": cid, "status": status, "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": patient}, **extra, "provision": provision}


def actor(reference):
    """A provision actor naming one person (IRCP: the information recipient)."""
    return {"role": IRCP, "reference": {"reference": reference}}


def classes(*types):
    return [{"system": RESOURCE_TYPES, "code": t} for t in types]


def put_all(client, resources):
    """PUT each resource as a system client (creating it with its id); returns the client."""
    for r in resources:
        resp = client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r,
                          headers={"Content-Type": "application/fhir+json"})
        assert resp.status_code == 201, resp.get_json()
    return client
