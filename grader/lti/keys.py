"""The tool's signing keys: made on first use, stored, rotated, published as a JWKS.

The newest key that is not retired signs everything the tool sends (deep linking responses,
client assertions). ``rotate`` makes a new key and retires the old one, which stays in the
JWKS for ``GRACE`` so that a platform holding a cached copy still verifies recent messages.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from grader.extensions import db
from grader.lti.models import LtiKey
from grader.models import utcnow

GRACE = timedelta(days=7)
ALGORITHM = "RS256"


def _new_key() -> LtiKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return LtiKey(kid=secrets.token_hex(16), private_pem=pem, created_at=utcnow())


def signing_key() -> LtiKey:
    """Return the key that signs now, making and storing one if there is none (committed)."""
    key = db.session.scalars(
        select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id.desc()).limit(1)
    ).first()
    if key is None:
        key = _new_key()
        db.session.add(key)
        db.session.commit()
    return key


def rotate() -> tuple[LtiKey, list[LtiKey]]:
    """Make a new signing key and retire the others; return the new key and the retired ones.

    The retired keys stay published for ``GRACE``. Commits.
    """
    now = utcnow()
    old = list(db.session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None))))
    for key in old:
        key.retired_at = now
    new = _new_key()
    db.session.add(new)
    db.session.commit()
    return new, old


def published_keys() -> list[LtiKey]:
    """Return the keys in the JWKS: the signing key and those retired less than GRACE ago."""
    signing_key()
    cutoff = utcnow() - GRACE
    return list(
        db.session.scalars(
            select(LtiKey)
            .where((LtiKey.retired_at.is_(None)) | (LtiKey.retired_at > cutoff))
            .order_by(LtiKey.id.desc())
        )
    )


def public_jwk(key: LtiKey) -> dict[str, Any]:
    """Return the public half of ``key`` as a JWK with its kid, alg and use."""
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return jwk | {"kid": key.kid, "alg": ALGORITHM, "use": "sig"}


def jwks() -> dict[str, Any]:
    """Return the tool's JSON Web Key Set (``GET /lti/jwks``)."""
    return {"keys": [public_jwk(key) for key in published_keys()]}


def sign(claims: dict[str, Any]) -> str:
    """Return ``claims`` as a JWT signed by the signing key (RS256, with its kid)."""
    key = signing_key()
    return jwt.encode(claims, key.private_pem, algorithm=ALGORITHM, headers={"kid": key.kid})
