"""The informal-care network (CareNetwork document) and its mapping to FHIR R4.

Pure: takes data, returns data. No Flask, no database, no network.
"""
from .codes import LEGAL_REPRESENTATIVE_ROLES, is_legal_representative
from .errors import MappingError, NetworkInvalid
from .from_fhir import bundle_to_network, fhir_to_network
from .json_schema import care_network_json_schema
from .network import CareNetworkSchema
from .to_fhir import network_to_fhir
from .validation import load_network

__all__ = [
    "CareNetworkSchema",
    "LEGAL_REPRESENTATIVE_ROLES",
    "MappingError",
    "NetworkInvalid",
    "bundle_to_network",
    "care_network_json_schema",
    "fhir_to_network",
    "is_legal_representative",
    "load_network",
    "network_to_fhir",
]
