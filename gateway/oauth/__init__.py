"""A SMART App Launch 2.0 authorization server inside the gateway (issue 11), built on Authlib.

keys (signing key, JWKS) · models and store (clients, users, links, approvals, codes, tokens) ·
scopes (what an app gets) · grants (Authlib grants and endpoints) · server (wiring, /oauth
endpoints, discovery) · views and login (sign-in, consent, apps pages) · admin (CLI) · demo.
"""
from __future__ import annotations


def install(app, settings, engine):
    from .server import install as _install
    from .views import install_session

    install_session(app, settings)
    return _install(app, settings, engine)
