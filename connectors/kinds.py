"""Imports every source kind so that `connectors.base.KINDS` knows them (one module per kind)."""
from . import csv_export, fhir, network_json  # noqa: F401,E402 - each registers its kind with @kind
