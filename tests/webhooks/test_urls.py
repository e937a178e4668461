"""Webhook URLs may not reach into the server's own network (SSRF), by address or by name."""

import ipaddress
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from tests.conftest import client_for, running_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.webhooks.urls import UnsafeWebhookUrl, check_webhook_url


class FakeDns:
    """The outside world's DNS, as seen from this test: names we control."""

    records: ClassVar[dict[str, list[str]]] = {
        "hooks.example.com": ["93.184.215.14"],
        "internal.example.com": ["10.20.30.40"],
        "sneaky.example.com": ["93.184.215.14", "127.0.0.1"],
        "metadata.example.com": ["169.254.169.254"],
        "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    }

    async def resolve(self, host: str, port: int) -> list[str]:
        if host not in self.records:
            raise OSError(f"{host} does not resolve")
        return self.records[host]


REFUSED_ALWAYS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://metadata.example.com/hook",
    "file:///etc/passwd",
    "ftp://hooks.example.com/hook",
    "gopher://hooks.example.com/",
    "http://0.0.0.0:8080/",
    "http:///no-host",
    "http://nowhere.example.com/hook",
    "http://224.0.0.1/hook",
    "not a url",
]
REFUSED_UNLESS_PRIVATE_ALLOWED = [
    "http://127.0.0.1/hook",
    "http://[::1]/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.10:3000/hook",
    "http://172.16.5.4/hook",
    "http://internal.example.com/hook",
    "https://sneaky.example.com/hook",
]
ALLOWED = [
    "https://hooks.example.com/vocalis?token=abc",
    "http://93.184.215.14:8080/hook",
    "https://v6.example.com/hook",
    "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
]


# IPv6 forms that carry an IPv4 address (or a non-public range) past a naive check.
TRANSITION_FORMS_ALWAYS_REFUSED = {
    "mapped-metadata": "::ffff:169.254.169.254",
    "compatible-metadata": "::169.254.169.254",
    "nat64-metadata": "64:ff9b::a9fe:a9fe",
    "nat64-local-use": "64:ff9b:1::a9fe:a9fe",
    "6to4-metadata": "2002:a9fe:a9fe::",
    "6to4-this-network": "2002:0:1::",
    "teredo-metadata-client": "2001:0:4136:e378:8000:63bf:5601:5601",  # client 169.254.169.254
}
TRANSITION_FORMS_PRIVATE = {
    "compatible-loopback": "::127.0.0.1",
    "mapped-private": "::ffff:10.0.0.1",
    "nat64-loopback": "64:ff9b::7f00:1",
    "nat64-private": "64:ff9b::c0a8:10a",
    "6to4-private": "2002:a00:1::",
    "site-local": "fec0::1",
    "teredo-private-client": "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # client 10.0.0.1
    "teredo-prefix": "2001:0:4136:e378:8000:63bf:a247:2af1",  # the prefix is not global
}
TRANSITION_FORMS_PUBLIC = {
    "mapped-public": "::ffff:93.184.215.14",
    "nat64-public": "64:ff9b::5db8:d70e",
}


class TransitionDns:
    """Each name `<form>.v6.example.com` resolves to that transition form."""

    async def resolve(self, host: str, port: int) -> list[str]:
        forms = TRANSITION_FORMS_ALWAYS_REFUSED | TRANSITION_FORMS_PRIVATE | TRANSITION_FORMS_PUBLIC
        return [forms[host.removesuffix(".v6.example.com")]]


def _as_urls(forms: dict[str, str]) -> list[Any]:
    """Each form twice: as a literal in the URL, and as what DNS answers for a name."""
    return [
        pytest.param(url, id=f"{name}-{kind}")
        for name, address in forms.items()
        for kind, url in [
            ("literal", f"http://[{address}]:8080/hook"),
            ("resolved", f"http://{name}.v6.example.com/hook"),
        ]
    ]


@pytest.mark.parametrize("url", _as_urls(TRANSITION_FORMS_ALWAYS_REFUSED))
@pytest.mark.parametrize("allow_private", [False, True])
async def test_ipv6_transition_forms_of_metadata_and_reserved_ranges_are_always_refused(
    url: str, allow_private: bool
) -> None:
    with pytest.raises(UnsafeWebhookUrl, match="link-local|reserved|non-public"):
        await check_webhook_url(url, TransitionDns(), allow_private=allow_private)


@pytest.mark.parametrize("url", _as_urls(TRANSITION_FORMS_PRIVATE))
async def test_ipv6_transition_forms_of_private_ranges_are_refused_by_default(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl, match="loopback|non-public"):
        await check_webhook_url(url, TransitionDns(), allow_private=False)


@pytest.mark.parametrize("url", _as_urls(TRANSITION_FORMS_PUBLIC))
async def test_ipv6_transition_forms_of_public_addresses_pass(url: str) -> None:
    target = await check_webhook_url(url, TransitionDns(), allow_private=False)
    pinned = ipaddress.ip_address(target.address)
    assert pinned in {ipaddress.ip_address(form) for form in TRANSITION_FORMS_PUBLIC.values()}


async def test_a_refusal_names_the_embedded_address() -> None:
    with pytest.raises(UnsafeWebhookUrl) as refused:
        await check_webhook_url("http://[64:ff9b::a9fe:a9fe]/", FakeDns(), allow_private=True)
    assert "link-local address 169.254.169.254" in refused.value.detail


@pytest.mark.parametrize("url", REFUSED_ALWAYS + REFUSED_UNLESS_PRIVATE_ALLOWED)
async def test_refused_by_default(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        await check_webhook_url(url, FakeDns(), allow_private=False)


@pytest.mark.parametrize("url", REFUSED_ALWAYS)
async def test_link_local_and_odd_schemes_are_refused_even_when_private_is_allowed(
    url: str,
) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        await check_webhook_url(url, FakeDns(), allow_private=True)


@pytest.mark.parametrize("url", REFUSED_UNLESS_PRIVATE_ALLOWED)
async def test_private_targets_pass_when_allowed(url: str) -> None:
    target = await check_webhook_url(url, FakeDns(), allow_private=True)
    assert target.url == url


@pytest.mark.parametrize("url", ALLOWED)
async def test_public_targets_pass_and_pin_the_checked_address(url: str) -> None:
    target = await check_webhook_url(url, FakeDns(), allow_private=False)
    assert target.address in {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_api_refuses_unsafe_urls_with_a_clear_error(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    settings = make_settings(database_url=database_url, worker="external")
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        unsafe = ["http://127.0.0.1:9/hook", "http://169.254.169.254/", "http://[::1]/x"]
        unsafe += [
            "http://10.0.0.1/",
            "file:///etc/passwd",
            "ftp://example.com/",
            "http://localhost/",
        ]
        for url in unsafe:
            response = await client.post(
                "/v1/tts/jobs", json={"text": "Hi.", "webhook_url": url}, headers=headers
            )
            assert response.status_code == 422, url
            assert response.json()["code"] == "invalid_webhook_url"
        batch = await client.post(
            "/v1/tts/batch",
            json={"items": [{"text": "Hi."}], "webhook_url": "http://10.1.1.1/"},
            headers=headers,
        )
        assert batch.json()["code"] == "invalid_webhook_url"
        assert (await client.get("/v1/tts/jobs", headers=headers)).json()["total"] == 0
