"""HMAC-SHA256 frame signing, for frames that cross hosts over tcp://."""

import hashlib
import hmac


class Signer:
    """Sign and verify frames with a shared key; with no key, sign nothing and accept all.

    The MAC covers topic, header and body, so none of them can be swapped in transit.
    """

    def __init__(self, key: bytes | None) -> None:
        self._key = key

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def sign(self, topic: bytes, header: bytes, body: bytes) -> bytes:
        if self._key is None:
            return b""
        mac = hmac.new(self._key, topic, hashlib.sha256)
        mac.update(header)
        mac.update(body)
        return mac.digest()

    def verify(self, signature: bytes, topic: bytes, header: bytes, body: bytes) -> bool:
        if self._key is None:
            return True
        return hmac.compare_digest(signature, self.sign(topic, header, body))

    def __repr__(self) -> str:  # never show the key
        return f"Signer(enabled={self.enabled})"
