"""Receipt references and upload tokens for witnesses."""

import hashlib
import re
import secrets

# No 0/O, 1/I/L: a witness reads the reference aloud on 101, and these are easily confused.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_PATTERN = re.compile(rf"^[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$")


def new_receipt_reference() -> str:
    """Eight random characters (about 40 bits), grouped in two fours: 7K3F-9QX2."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def new_upload_token() -> str:
    """A 192-bit capability token for the witness's private "add more footage" link."""
    return secrets.token_urlsafe(24)


def hash_upload_token(token: str) -> str:
    # Only the hash is stored, so a copy of the database cannot be used to add files.
    return hashlib.sha256(token.encode()).hexdigest()
