#!/usr/bin/env python3
"""The authorization code flow with PKCE driven by Authlib's OAuth2Session (S256).

  authlib_code_flow.py start BASE CLIENT_ID SECRET REDIRECT_URI
      prints {"url": the authorization URL, "verifier": …, "state": …}
  authlib_code_flow.py finish BASE CLIENT_ID SECRET REDIRECT_URI VERIFIER STATE CALLBACK_URL
      exchanges the code from the callback URL, calls /v1, refreshes; prints what happened.
The member's consent in between is given by the Swift test's browser.
"""
import json, sys
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

step, base, client_id, secret, redirect_uri = sys.argv[1:6]
session = OAuth2Session(client_id, secret, scope="balances:read", redirect_uri=redirect_uri, code_challenge_method="S256")

if step == "start":
    verifier = generate_token(64)
    url, state = session.create_authorization_url(base + "/oauth/authorize", code_verifier=verifier)
    print(json.dumps({"url": url, "verifier": verifier, "state": state}))
else:
    verifier, state, callback = sys.argv[6:9]
    session.state = state
    out = {}
    tok = session.fetch_token(base + "/oauth/token", authorization_response=callback, code_verifier=verifier, state=state)
    out["token"] = {k: tok.get(k) for k in ("token_type", "scope", "expires_in")}
    out["has_refresh"] = bool(tok.get("refresh_token"))
    out["balances"] = session.get(base + "/v1/balances").status_code
    new = session.refresh_token(base + "/oauth/token", refresh_token=tok["refresh_token"])
    out["refreshed"] = new.get("access_token") != tok["access_token"] and new.get("refresh_token") != tok["refresh_token"]
    out["balances_after_refresh"] = session.get(base + "/v1/balances").status_code
    # The old refresh token again: Authlib surfaces invalid_grant.
    try:
        session.refresh_token(base + "/oauth/token", refresh_token=tok["refresh_token"])
        out["reuse"] = "no error"
    except OAuthError as e:
        out["reuse"] = e.error
    print(json.dumps(out))
