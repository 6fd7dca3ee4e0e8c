"""An independent implementation of CareSeal sealed messages, written from
docs/PROTOCOL.md alone (sections 1-3) on PyNaCl/libsodium and the Python
standard library, checked against the document's test vectors. If the code
and the document drift apart, or the document is not precise enough to
implement, this fails.

Run: python3 -m unittest discover -s tests/interop -v
"""

import hashlib
import hmac
import pathlib
import re
import unittest

import nacl.bindings as sodium
import nacl.signing

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text()


def domain(name):
    """A domain string quoted in PROTOCOL.md section 2."""
    match = re.search(r"\| `%s` \| `([^`]*)` \|" % re.escape(name), DOC)
    return match.group(1).encode()


def vector():
    block = DOC.split("<!-- vector:sealed -->")[1].split("```")[1]
    out = {}
    for line in block.strip().splitlines():
        if ":" in line and not line.startswith("text"):
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def hkdf_sha256(salt, ikm, info, length):
    """RFC 5869."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def x25519(secret, public):
    shared = sodium.crypto_scalarmult(secret, public)
    assert shared != bytes(32), "non-contributory"
    return shared


def identity(x_seed, ed_seed):
    x_public = sodium.crypto_scalarmult_base(x_seed)
    ed_public = bytes(nacl.signing.SigningKey(ed_seed).verify_key)
    return bytes([1]) + x_public + ed_public


def fingerprint(identity_bytes):
    digest = hashlib.sha512(domain("DOMAIN_FINGERPRINT") + identity_bytes).digest()
    groups = [int.from_bytes(digest[5 * i : 5 * i + 5], "big") % 100000 for i in range(6)]
    return " ".join("%05d" % g for g in groups)


def padded_len(n):
    length = n + 1
    if length <= 256:
        return 256
    e = length.bit_length() - 1
    s = e.bit_length()  # floor(log2 e) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def pad(content):
    return content + b"\x80" + bytes(padded_len(len(content)) - len(content) - 1)


def unpad(padded):
    stripped = padded.rstrip(b"\x00")
    assert stripped.endswith(b"\x80") and padded_len(len(stripped) - 1) == len(padded)
    return stripped[:-1]


def hint(identity_bytes):
    return hashlib.sha256(domain("DOMAIN_RECIPIENT_HINT") + identity_bytes).digest()[:8]


def seal(recipient, message, ephemeral_seed, nonce, sender=None):
    """Section 3: the sender side, with fixed randomness."""
    ephemeral = sodium.crypto_scalarmult_base(ephemeral_seed)
    header = bytes([0x01, 0x53]) + hint(recipient) + ephemeral + nonce
    shared = x25519(ephemeral_seed, recipient[1:33])
    key = hkdf_sha256(ephemeral + recipient[1:33], shared, domain("INFO_SEALED_KEY"), 32)
    if sender is None:
        payload = b"\x00" + message
    else:
        sender_identity, sender_ed_seed = sender
        signed = domain("DOMAIN_SEALED_SENDER") + header + recipient + sender_identity + message
        signature = nacl.signing.SigningKey(sender_ed_seed).sign(signed).signature
        payload = b"\x01" + sender_identity + signature + message
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pad(payload), header + recipient, nonce, key)
    return header + ciphertext


def open_envelope(recipient, recipient_x_seed, envelope):
    """Section 3.5: the recipient side; returns (message, sender identity or None)."""
    assert envelope[0] == 0x01 and envelope[1] == 0x53
    header, ciphertext = envelope[:66], envelope[66:]
    assert header[2:10] == hint(recipient)
    ephemeral, nonce = header[10:42], header[42:66]
    shared = x25519(recipient_x_seed, ephemeral)
    key = hkdf_sha256(ephemeral + recipient[1:33], shared, domain("INFO_SEALED_KEY"), 32)
    payload = unpad(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, header + recipient, nonce, key))
    if payload[0] == 0:
        return payload[1:], None
    sender, signature, message = payload[1:66], payload[66:130], payload[130:]
    signed = domain("DOMAIN_SEALED_SENDER") + header + recipient + sender + message
    nacl.signing.VerifyKey(sender[33:65]).verify(signed, signature)
    return message, sender


class SealedSpec(unittest.TestCase):
    def setUp(self):
        self.v = vector()
        h = bytes.fromhex
        self.recipient_x = h(self.v["recipient x25519 seed"])
        self.recipient = identity(self.recipient_x, h(self.v["recipient ed25519 seed"]))
        self.sender_ed = h(self.v["sender ed25519 seed"])
        self.sender = identity(h(self.v["sender x25519 seed"]), self.sender_ed)

    def test_identities_fingerprint_and_hint(self):
        self.assertEqual(self.recipient.hex(), self.v["recipient identity"])
        self.assertEqual(self.sender.hex(), self.v["sender identity"])
        self.assertEqual(fingerprint(self.recipient), self.v["recipient fingerprint"])
        self.assertEqual(hint(self.recipient).hex(), self.v["recipient hint"])

    def test_padme_examples_from_section_1_4(self):
        for n, expected in [(0, 256), (255, 256), (999, 1024), (1024, 1088), (65535, 65536), (65536, 67584)]:
            self.assertEqual(padded_len(n), expected, n)

    def test_sealing_reproduces_the_vectors_byte_for_byte(self):
        h = bytes.fromhex
        message, eph, nonce = h(self.v["message"]), h(self.v["ephemeral seed"]), h(self.v["nonce"])
        self.assertEqual(seal(self.recipient, message, eph, nonce).hex(), self.v["anonymous envelope"])
        signed = seal(self.recipient, message, eph, nonce, sender=(self.sender, self.sender_ed))
        self.assertEqual(signed.hex(), self.v["signed envelope"])

    def test_opening_the_vectors(self):
        message = bytes.fromhex(self.v["message"])
        opened, sender = open_envelope(self.recipient, self.recipient_x, bytes.fromhex(self.v["anonymous envelope"]))
        self.assertEqual((opened, sender), (message, None))
        opened, sender = open_envelope(self.recipient, self.recipient_x, bytes.fromhex(self.v["signed envelope"]))
        self.assertEqual((opened, sender), (message, self.sender))

    def test_a_flipped_ciphertext_bit_fails(self):
        envelope = bytearray.fromhex(self.v["anonymous envelope"])
        envelope[100] ^= 1
        with self.assertRaises(Exception):
            open_envelope(self.recipient, self.recipient_x, bytes(envelope))


if __name__ == "__main__":
    unittest.main()
