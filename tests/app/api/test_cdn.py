"""AUDIO_DELIVERY=cdn: the audio endpoint answers 307 to a CloudFront URL signed for that object alone, which a
stand-in checking signatures as CloudFront documents accepts in its time and refuses otherwise."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.settings import Settings, SettingsError
from app.storage.cdn import CloudFrontSigner
from tests.support.aws import REGION, StoppableMoto, s3_env
from tests.support.browser import find_or_install, play_and_seek, tone_wav
from tests.support.cloudfront import CloudFrontStandIn, verify
from tests.support.live import LiveApp

KEY_ID = "K2JCJMDEHXQW5F"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_a_signed_url_holds_for_its_object_within_its_time_only() -> None:
    signer = CloudFrontSigner("d111111abcdef8.cloudfront.net", KEY_ID, PRIVATE_PEM)
    url = signer.url("episodes/u 1/e1/Show é.mp3", expires_in=300, now=1_000_000)
    assert url.startswith("https://d111111abcdef8.cloudfront.net/episodes/u%201/e1/Show%20%C3%A9.mp3?Expires=1000300&")
    assert verify(url, PUBLIC_PEM, KEY_ID, now=1_000_299)
    assert not verify(url, PUBLIC_PEM, KEY_ID, now=1_000_300)  # expired
    assert not verify(url.replace("/e1/", "/e2/"), PUBLIC_PEM, KEY_ID, now=1_000_000)  # another object
    assert not verify(url.replace("Expires=1000300", "Expires=1999999"), PUBLIC_PEM, KEY_ID, now=1_000_000)
    assert not verify(url + "&extra=1", PUBLIC_PEM, KEY_ID, now=1_000_000)  # a changed query
    assert not verify(url, PUBLIC_PEM, "KOTHERKEY", now=1_000_000)  # a key the group does not trust
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    assert not verify(url, other.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo), KEY_ID, now=1_000_000)


def test_cdn_delivery_is_refused_without_its_key_or_without_s3(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="AUDIO_DELIVERY=cdn needs CDN_KEY_ID, CDN_PRIVATE_KEY"):
        Settings.from_env(s3_env(tmp_path, AUDIO_DELIVERY="cdn", CDN_DOMAIN="d1.cloudfront.net"))
    with pytest.raises(SettingsError, match="S3 is off here"):
        Settings.from_env({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "AUDIO_DELIVERY": "cdn",
                           "CDN_DOMAIN": "d1.cloudfront.net", "CDN_KEY_ID": KEY_ID, "CDN_PRIVATE_KEY": PRIVATE_PEM})
    with pytest.raises(SettingsError, match="RSA 2048"):
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        CloudFrontSigner("d1.cloudfront.net", KEY_ID, small)


@pytest.fixture
def cdn(moto: StoppableMoto, tmp_path: Path):  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)
    with CloudFrontStandIn(PUBLIC_PEM, KEY_ID, s3, moto.bucket, tmp_path / "tls") as stand_in:
        env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket,
                     AUDIO_DELIVERY="cdn", CDN_DOMAIN=stand_in.domain, CDN_KEY_ID=KEY_ID, CDN_PRIVATE_KEY=PRIVATE_PEM)
        yield stand_in, env


def test_the_audio_endpoint_redirects_to_a_signed_url_the_cdn_serves_with_ranges(cdn) -> None:  # type: ignore[no-untyped-def]
    stand_in, env = cdn
    audio = bytes(range(256)) * 400
    with LiveApp(env) as client:
        created = client.post("/api/podcasts/episodes", data={"name": "through the CDN"},
                              files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()
        answer = client.get(created["audio_url"])
        assert answer.status_code == 307 and answer.headers["cache-control"] == "no-store"
        signed = answer.headers["location"]
        assert urlsplit(signed).netloc == stand_in.domain and "Hash-Algorithm=SHA256" in signed
    with httpx.Client(verify=ssl.create_default_context(cafile=stand_in.tls.bundle)) as listener:
        assert listener.get(signed).content == audio
        part = listener.get(signed, headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == audio[1000:2000]
        assert listener.head(signed).headers["content-length"] == str(len(audio))
        unsigned = signed.split("?")[0]
        assert listener.get(unsigned).status_code == 403
        assert listener.get(signed.replace("Expires=", "Expires=9")).status_code == 403


def test_a_browser_plays_and_seeks_through_the_cdn(cdn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chromium = find_or_install()
    if not chromium:
        pytest.skip("no chromium: Debian's package could not be installed here (needs root and apt-get)")
    stand_in, env = cdn
    with LiveApp(env) as client:
        created = client.post("/api/podcasts/episodes", data={"name": "tone"},
                              files={"audio": ("tone.wav", tone_wav(), "audio/wav")}).json()
        base = str(client.base_url)
        flags = ["--ignore-certificate-errors"]  # the stand-in's own certificate
        assert play_and_seek(chromium, base + created["audio_url"], 4, tmp_path, flags) == "ok playing seek at 4.0"
    refused = stand_in.refused
    unsigned = play_and_seek(chromium, f"https://{stand_in.domain}/{created['audio_ref'].split('/', 3)[3]}", 4,
                             tmp_path, flags)
    assert "error 4" in unsigned or "NotSupportedError" in unsigned, unsigned
    assert stand_in.refused > refused


def test_verify_checks_the_cdn_serves_signed_urls_and_refuses_the_others(cdn, monkeypatch: pytest.MonkeyPatch,
                                                                          capsys) -> None:  # type: ignore[no-untyped-def]
    from scripts.cli import main

    stand_in, env = cdn
    for name, value in {**env, "SSL_CERT_FILE": str(stand_in.tls.bundle)}.items():
        monkeypatch.setenv(name, value)
    assert main(["verify"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "CDN:" in line]
    assert line.split()[0] == "ok" and "unsigned and expired ones refused (403)" in line
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    monkeypatch.setenv("CDN_PRIVATE_KEY", other)  # a key the distribution does not trust
    assert main(["verify"]) == 1
    line = next(line for line in capsys.readouterr().out.splitlines() if "CDN:" in line)
    assert line.split()[0] == "FAIL" and "403" in line
