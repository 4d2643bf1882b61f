"""The C2PA manifest: sign an MP4 (claim generator, ``c2pa.created`` with digital source type
``trainedAlgorithmicMedia``, the hashed ingredients) and read one back.

The signing key is a user's certificate chain and private key (PEM), or a local one made on first
use in ``$XDG_CONFIG_HOME/twintake/signing/`` (a self-made root CA and an ES256 leaf certificate
with the extensions the C2PA SDK asks of a signing certificate; private keys mode 0600). A local
key proves only that the file was not changed since this machine signed it; it is not trusted by
others.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..errors import BackendError, OutputError

__all__ = ["SigningKey", "Ingredient", "local_key", "load_key", "sign_mp4", "read_manifest", "ManifestReport",
           "config_dir", "sha256_file", "sha256_bytes"]

log = logging.getLogger(__name__)

#: IPTC digital source type of every twintake output.
SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}


def _c2pa():
    try:
        import c2pa
    except ImportError as e:  # pragma: no cover - a base dependency
        raise BackendError("the C2PA manifest needs the c2pa-python package: pip install c2pa-python") from e
    return c2pa


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/twintake`` (default ``~/.config/twintake``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "twintake"


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SigningKey:
    """A certificate chain and its private key, PEM.

    Attributes:
        cert_chain_pem: the signing certificate first, then its issuers.
        private_key_pem: the signing certificate's private key.
        local: made by twintake on this machine (not trusted by anyone else).
    """

    cert_chain_pem: bytes
    private_key_pem: bytes
    local: bool = False


@dataclass(frozen=True)
class Ingredient:
    """What a video was made from: a ``role`` (``source``, ``speech``, ``text``, ``voice``), a
    name and the SHA-256 of its bytes."""

    role: str
    name: str
    sha256: str


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _make_local_key(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    user = os.environ.get("USER") or "user"

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "twintake local signer"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"twintake local root ({user})")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(name(f"twintake ({user})")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(folder / "root.key", ca_key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    _write_private(folder / "signer.key", key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    (folder / "root.pem").write_bytes(ca.public_bytes(pem))
    (folder / "signer.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))


def local_key() -> SigningKey:
    """This machine's signing key, made on first use in ``config_dir()/signing`` (made in a
    temp folder and renamed into place, so workers starting together never see half a key)."""
    import shutil
    import tempfile

    folder = config_dir() / "signing"
    if not (folder / "signer.pem").is_file() or not (folder / "signer.key").is_file():
        log.info("making a local C2PA signing key in %s", folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".signing-", dir=folder.parent))
        try:
            _make_local_key(tmp)
            try:
                os.rename(tmp, folder)
            except OSError:  # another process made it first (or a partial folder is there)
                if not (folder / "signer.key").is_file():
                    shutil.rmtree(folder, ignore_errors=True)
                    os.rename(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return SigningKey((folder / "signer.pem").read_bytes(), (folder / "signer.key").read_bytes(), local=True)


def load_key(cert: str | Path, key: str | Path) -> SigningKey:
    """A user's certificate chain and private key (PEM files).

    Raises:
        OutputError: a file is missing or not PEM.
    """
    data = []
    for p, what in ((cert, "certificate"), (key, "private key")):
        try:
            b = Path(p).read_bytes()
        except OSError as e:
            raise OutputError(f"cannot read the signing {what} {p}: {e.strerror or e}") from e
        if b"-----BEGIN" not in b:
            raise OutputError(f"the signing {what} {p} is not a PEM file")
        data.append(b)
    return SigningKey(data[0], data[1])


def _alg(key_pem: bytes):
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    c2pa = _c2pa()
    try:
        k = load_pem_private_key(key_pem, None)
    except (ValueError, TypeError) as e:
        raise OutputError(f"the signing key cannot be read (an unencrypted PEM key is needed): {e}") from e
    if isinstance(k, ec.EllipticCurvePrivateKey):
        return {256: c2pa.C2paSigningAlg.ES256, 384: c2pa.C2paSigningAlg.ES384,
                521: c2pa.C2paSigningAlg.ES512}[k.curve.key_size]
    if isinstance(k, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(k, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256
    raise OutputError("the signing key must be an EC (P-256/384/521), Ed25519 or RSA key")


def _manifest_definition(title: str, ingredients: list[Ingredient], job_id: str) -> dict:
    return {
        "claim_generator_info": [{"name": "twintake", "version": __version__}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": SOURCE_TYPE,
                "softwareAgent": {"name": "twintake", "version": __version__},
                "description": "a real person's face made to say new speech (lip-sync / digital twin)",
            }]}},
            {"label": "org.twintake.provenance", "data": {
                "job_id": job_id, "generator": f"twintake/{__version__}",
                "ingredients": [{"role": i.role, "name": i.name, "sha256": i.sha256} for i in ingredients],
                "watermarks": {"video": "twintake luma spread-spectrum v1", "audio": "twintake audio spread-spectrum v1"},
            }},
        ],
    }


def sign_mp4(path: str | Path, ingredients: list[Ingredient], job_id: str, key: SigningKey | None = None) -> None:
    """Embed a signed C2PA manifest in the MP4 at ``path`` (rewritten in place, atomically).

    Raises:
        OutputError: the key is unusable or the SDK cannot sign the file.
    """
    c2pa = _c2pa()
    path = Path(path)
    key = key or local_key()
    info = c2pa.C2paSignerInfo(_alg(key.private_key_pem), key.cert_chain_pem, key.private_key_pem, None)
    tmp = path.with_name(path.name + ".c2pa" + path.suffix)
    mime = _MIME.get(path.suffix.lower(), "video/mp4")
    try:
        with c2pa.Signer.from_info(info) as signer, \
                c2pa.Builder(_manifest_definition(path.name, ingredients, job_id)) as builder, \
                open(path, "rb") as src, open(tmp, "w+b") as dst:
            builder.sign(signer, mime, src, dst)
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    except c2pa.C2paError as e:
        raise OutputError(f"cannot sign {path.name} with C2PA: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class ManifestReport:
    """What the C2PA manifest of a file says.

    Attributes:
        present: a manifest store was found.
        valid: present and its signature and hashes check out (an untrusted signer is still
            valid: see ``trusted``); None when absent.
        trusted: signed by ``trust_anchor`` (e.g. this machine's local key).
        state: the SDK's validation state (``Valid``, ``Invalid``, ``Trusted``) or None.
        errors: failed validation codes (``assertion.dataHash.mismatch``, ...).
        claim_generator, actions, ingredients, job_id, signer: the claims.
        message: one line for the user.
    """

    present: bool = False
    valid: bool | None = None
    trusted: bool = False
    state: str | None = None
    errors: list[str] = field(default_factory=list)
    claim_generator: str | None = None
    actions: list[dict] = field(default_factory=list)
    ingredients: list[dict] = field(default_factory=list)
    job_id: str | None = None
    signer: str | None = None
    message: str = ""


# validation codes that only say the signer is not in a trust list: expected for a local key
_UNTRUSTED = {"signingCredential.untrusted"}


def read_manifest(path: str | Path, trust_anchor_pem: bytes | None = None) -> ManifestReport:
    """Read and validate the C2PA manifest of ``path``; never raises for a bad or absent manifest."""
    c2pa = _c2pa()
    r = ManifestReport()
    mime = _MIME.get(Path(path).suffix.lower(), "video/mp4")
    try:
        with open(path, "rb") as f, c2pa.Reader(mime, f) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as e:
        text = str(e)
        if "ManifestNotFound" in type(e).__name__ or "no JUMBF" in text or "not found" in text.lower():
            r.message = "no C2PA manifest"
        else:
            r.present, r.valid = True, False
            r.message = f"C2PA manifest unreadable: {text.splitlines()[0] if text else type(e).__name__}"
        return r
    r.present = True
    r.state = store.get("validation_state")
    failures = [s for s in (store.get("validation_results", {}).get("activeManifest", {}).get("failure") or [])]
    failures += [s for s in store.get("validation_status") or [] if s.get("code") not in _UNTRUSTED
                 and s not in failures and "success" not in str(s.get("code", ""))]
    r.errors = sorted({str(s.get("code")) for s in failures if s.get("code") not in _UNTRUSTED})
    r.valid = r.state in ("Valid", "Trusted") and not r.errors
    m = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    gen = m.get("claim_generator_info") or []
    if gen:
        r.claim_generator = f"{gen[0].get('name')}/{gen[0].get('version')}"
    r.signer = (m.get("signature_info") or {}).get("common_name") or (m.get("signature_info") or {}).get("issuer")
    for a in m.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            r.actions += a.get("data", {}).get("actions", [])
        if a.get("label") == "org.twintake.provenance":
            r.ingredients = a.get("data", {}).get("ingredients", [])
            r.job_id = a.get("data", {}).get("job_id")
    if trust_anchor_pem is not None and r.valid:
        r.trusted = _signed_by(m, trust_anchor_pem)
    if r.valid:
        who = "this machine's local key" if r.trusted else f"{r.signer or 'an unknown signer'} (not this machine's key)"
        r.message = f"C2PA manifest valid, signed by {who}"
    else:
        r.message = "C2PA manifest INVALID: " + (", ".join(r.errors) or str(r.state))
    return r


def _signed_by(manifest: dict, anchor_pem: bytes) -> bool:
    """Whether the manifest was signed with the certificate ``anchor_pem`` (its first
    certificate; compared by serial number and subject common name)."""
    from cryptography import x509

    try:
        anchor = x509.load_pem_x509_certificate(anchor_pem)
    except ValueError:
        return False
    info = manifest.get("signature_info") or {}
    cn = [a.value for a in anchor.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    return str(info.get("cert_serial_number")) == str(anchor.serial_number) and info.get("common_name") in cn
