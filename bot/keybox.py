"""Secrets at rest: Fernet encryption under CONVOY_BOT_SECRET_KEY (several comma-separated
keys rotate: the first encrypts, all decrypt). Used for stored API keys."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr


class KeyBoxError(ValueError):
    """The secret key cannot decrypt a stored API key (wrong or rotated away)."""


class KeyBox:
    """Fernet encryption of API keys at rest; the first secret key encrypts, all decrypt."""

    def __init__(self, secret_keys: list[SecretStr]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.get_secret_value()) for k in secret_keys])
        except (ValueError, TypeError) as exc:
            raise KeyBoxError(
                "CONVOY_BOT_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes each, "
                "comma-separated); make one with `convoy-bot projects new-secret-key`"
            ) from exc

    def seal(self, api_key: SecretStr) -> str:
        return self._fernet.encrypt(api_key.get_secret_value().encode()).decode()

    def open(self, token: str) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise KeyBoxError("cannot decrypt") from exc


def new_secret_key() -> str:
    return Fernet.generate_key().decode()
