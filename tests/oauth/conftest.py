"""Fixtures for the authorization-server tests: a loaded two-parent network, a registered public
app, a confidential app and a user linked to both of Els's RelatedPersons."""
from __future__ import annotations

import os
import sys

import pytest

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from smart_helpers import PASSWORD, REDIRECT, load_network  # noqa: E402

from gateway.oauth import admin  # noqa: E402

SECRET = "s3cret-for-tests-only-0123456789"


@pytest.fixture
def network(client):
    load_network(client)
    return client


@pytest.fixture
def public_app(settings, network):
    return admin.add_client(settings, name="Familieportaal", redirect_uris=[REDIRECT], public=True,
                            client_id="portal")


@pytest.fixture
def confidential_app(settings, network, monkeypatch):
    monkeypatch.setenv("TEST_APP_SECRET", SECRET)
    return admin.add_client(settings, name="Zorgapp", redirect_uris=[REDIRECT], secret_env="TEST_APP_SECRET",
                            client_id="zorgapp")


@pytest.fixture
def els(settings, network):
    """Els, daughter of both Anna (ma) and Jan (pa): one user, two RelatedPerson links."""
    admin.add_user(settings, "els", "Els Bosman", PASSWORD)
    admin.link_user(settings, "els", "RelatedPerson/els-ma")
    admin.link_user(settings, "els", "RelatedPerson/els-pa")
    return "els"


@pytest.fixture
def browser(app):
    """A cookie-keeping client without a bearer token: a person's browser."""
    return app.test_client()
