"""A second relying party, in Python: Authlib (Debian's python3-authlib) exchanges an authorization
code at tessera, validates the ID token (signature from the JWKS, iss, aud, exp, iat, nonce, at_hash:
authlib.oidc.core.CodeIDToken) and fetches /userinfo. Run by openid-connect.authlib.test.ts:

    authlib_rp.py ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI CALLBACK_URL CODE_VERIFIER NONCE

Prints one JSON object: the validated ID token claims and the userinfo answer. Fails (exit 1) on any
validation error, naming it on stderr.
"""
import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

issuer, client_id, client_secret, redirect_uri, callback_url, verifier, nonce = sys.argv[1:8]

metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())

session = OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_basic", redirect_uri=redirect_uri)
token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback_url, code_verifier=verifier)

claims = jwt.decode(
    token["id_token"],
    jwks,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}},
    claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
)
claims.validate()  # exp, iat, iss, aud, nonce, auth_time, at_hash

userinfo = session.get(metadata["userinfo_endpoint"], timeout=10).json()
print(json.dumps({"id_token": dict(claims), "header": dict(claims.header), "userinfo": userinfo}))
