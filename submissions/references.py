"""Receipt references and upload tokens for witnesses."""

import base64
import hashlib
import re
import secrets

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

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


def _token_cipher() -> MultiFernet:
    # A key per secret: a token sealed before SECRET_KEY was rotated opens with SECRET_KEY_FALLBACKS.
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(salted_hmac("upload-token", "", secret=key, algorithm="sha256").digest()))
            for key in keys
        ]
    )


def seal_upload_token(token: str) -> str:
    """The token encrypted with a key derived from SECRET_KEY, for keeping until the receipt email is sent."""
    return _token_cipher().encrypt(token.encode()).decode()


def unseal_upload_token(sealed: str) -> str:
    """Raises cryptography.fernet.InvalidToken if it was not sealed with SECRET_KEY or one of its fallbacks."""
    return _token_cipher().decrypt(sealed.encode()).decode()
