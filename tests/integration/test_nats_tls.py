"""NATS over TLS by configuration: a server with a certificate the test makes, a client that
trusts it through the settings' CA file, and one that does not."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy import nats_auth
from deploy.processes import Nats, free_port
from kit.messaging import NatsConnection, NatsIdentity, connect
from kit.settings import ServiceSettings
from tests.helpers import temp_dir


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zone-nats-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "nats.crt", folder / "nats.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_services_connect_over_tls_with_the_configured_ca() -> None:
    folder = temp_dir("zone-nats-tls-")
    cert, key = _self_signed(folder)
    passwords = nats_auth.load_or_create(folder / "credentials.json")
    server = Nats(
        folder / "js",
        free_port(),
        tls=(cert, key),
        authorization=nats_auth.authorization(passwords),
    )
    server.start()
    try:
        assert server.url.startswith("tls://")
        settings = ServiceSettings(
            nats_url=server.url,
            nats_user="registry",
            nats_password=passwords["registry"],
            nats_tls_ca_file=str(cert),
        )
        connection = NatsConnection(
            settings.nats_url, name="tls-test", identity=settings.nats_identity
        )
        await connection.start()
        try:
            assert connection.connected
            assert connection.client.connected_url is not None
        finally:
            await connection.close()
        untrusting = NatsIdentity(user="registry", password=passwords["registry"])
        with pytest.raises(Exception, match=r"(?i)certificate|ssl|no servers"):
            await asyncio.wait_for(
                connect(server.url, untrusting, connect_timeout=2, allow_reconnect=False), 20
            )
    finally:
        server.stop()
