#!/usr/bin/env python3
"""Drives Portal's OAuth server with Authlib's requests client, as an integrator would.

Usage: authlib_client.py BASE_URL CLIENT_ID CLIENT_SECRET
Prints one JSON object of what happened; the Swift test (OAuthAuthlibTests) checks it.
"""
import json, sys
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

base, client_id, secret = sys.argv[1:4]
out = {}

# client_secret_basic (Authlib's default), a scope the app's subscription grants.
s = OAuth2Session(client_id, secret, scope="balances:read", token_endpoint_auth_method="client_secret_basic")
tok = s.fetch_token(base + "/oauth/token", grant_type="client_credentials")
out["basic"] = {"token_type": tok.get("token_type"), "scope": tok.get("scope"), "expires_in": tok.get("expires_in")}
out["basic_balances"] = s.get(base + "/v1/balances").status_code

# client_secret_post.
p = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_post")
tok2 = p.fetch_token(base + "/oauth/token", grant_type="client_credentials")
out["post"] = {"token_type": tok2.get("token_type"), "scope": tok2.get("scope")}

# A scope outside the subscriptions, and a wrong secret: Authlib raises the RFC 6749 error.
for name, session in (("outside", OAuth2Session(client_id, secret, scope="payouts:write")),
                      ("wrong_secret", OAuth2Session(client_id, secret + "x"))):
    try:
        session.fetch_token(base + "/oauth/token", grant_type="client_credentials")
        out[name] = "no error"
    except OAuthError as e:
        out[name] = e.error

# Introspection (RFC 7662) and revocation (RFC 7009) of the first token, then /v1 refuses it.
i = s.introspect_token(base + "/oauth/introspect", token=tok["access_token"])
out["introspect"] = i.json()
r = s.revoke_token(base + "/oauth/revoke", token=tok["access_token"])
out["revoke_status"] = r.status_code
out["after_revoke"] = s.get(base + "/v1/balances").status_code

print(json.dumps(out))
