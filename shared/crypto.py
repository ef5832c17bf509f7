"""Field-level encryption of personal data at rest, with key rotation.

Keys are Fernet keys (urlsafe base64 of 32 bytes). The first key encrypts; every key
decrypts, so a new key is put first and old ciphertexts are re-encrypted with `rotate`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PiiDecryptionError(ValueError):
    """A ciphertext matches none of the configured keys."""


class FieldCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise PiiDecryptionError("no configured key decrypts this field") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise PiiDecryptionError("no configured key decrypts this field") from exc

    def encrypt_bytes(self, data: bytes) -> bytes:
        """For binary personal data (photos): the Fernet token, as ASCII bytes."""
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise PiiDecryptionError("no configured key decrypts this field") from exc

    def rotate_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise PiiDecryptionError("no configured key decrypts this field") from exc

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")
