"""Every mail reads right in text and HTML, shows its links in full, and escapes what it is
given."""

from __future__ import annotations

import re

import pytest

from vocalis.mail.templates import TEMPLATES, render

BASE_URL = "https://tts.example.com"
LINK = f"{BASE_URL}/reset-password?token=rt_0123456789abcdef0123456789abcdef"

CONTEXTS: dict[str, dict[str, str]] = {
    "verify_email": {"link": f"{BASE_URL}/verify?token=vt_9f8e7d6c5b4a"},
    "reset_password": {"link": LINK},
    "signup_existing": {"login_link": f"{BASE_URL}/login", "reset_link": f"{BASE_URL}/forgot"},
    "confirm_new_email": {"link": f"{BASE_URL}/confirm-email?token=ce_1a2b3c"},
    "email_changed": {"new_email": "new@example.com"},
    "password_changed": {},
    "quota_alert": {
        "percent": "80",
        "allowance": "characters",
        "used": "80,000",
        "limit": "100,000",
        "resets_at": "1 December 2026",
    },
    "account_deleted": {},
    "subscription_started": {
        "plan": "Pro",
        "allowance": "500,000 characters and 33,334 seconds of audio a month",
        "renews_at": "29 December 2026",
    },
    "payment_failed": {
        "plan": "Pro",
        "grace_ends_at": "6 December 2026",
        "link": f"{BASE_URL}/billing",
    },
    "plan_downgraded": {
        "reason": "the subscription has ended.",
        "link": f"{BASE_URL}/pricing",
    },
}

SUBJECTS = {
    "verify_email": "Confirm your email address",
    "reset_password": "Reset your Vocalis password",
    "signup_existing": "Someone tried to sign up with your address",
    "confirm_new_email": "Confirm your new email address",
    "email_changed": "Your Vocalis email address was changed",
    "password_changed": "Your Vocalis password was changed",
    "quota_alert": "You have used 80% of your characters",
    "account_deleted": "Your Vocalis account was deleted",
    "subscription_started": "Welcome to Vocalis Pro",
    "payment_failed": "Your Vocalis payment did not go through",
    "plan_downgraded": "Your Vocalis account is on the Free plan now",
}


def test_every_template_has_a_sample_here() -> None:
    assert set(CONTEXTS) == set(TEMPLATES) == set(SUBJECTS)


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_template_renders_in_text_and_html(template: str) -> None:
    mail = render(template, CONTEXTS[template], base_url=BASE_URL)

    assert mail.subject == SUBJECTS[template]
    for body in (mail.text, mail.html):
        assert "$" not in body  # no placeholder left unfilled
        assert "Vocalis" in body
        for value in CONTEXTS[template].values():
            assert value in body
    assert BASE_URL in mail.text  # the footer says where the mail comes from
    assert mail.html.startswith("<!doctype html>")
    assert "<" not in mail.text


@pytest.mark.parametrize("template", ["verify_email", "reset_password", "confirm_new_email"])
def test_the_text_version_shows_the_link_in_full_on_its_own_line(template: str) -> None:
    link = CONTEXTS[template]["link"]

    mail = render(template, CONTEXTS[template], base_url=BASE_URL)

    assert link in mail.text.splitlines()
    assert f'href="{link}"' in mail.html


def test_signup_existing_offers_both_login_and_password_reset() -> None:
    context = CONTEXTS["signup_existing"]

    mail = render("signup_existing", context, base_url=BASE_URL)

    lines = mail.text.splitlines()
    assert context["login_link"] in lines and context["reset_link"] in lines
    assert "If it was you" in mail.text


def test_links_say_how_long_they_last() -> None:
    assert "24 hours" in render("verify_email", CONTEXTS["verify_email"], base_url=BASE_URL).text
    reset = render("reset_password", {"link": LINK}, base_url=BASE_URL).text
    assert "1 hour" in reset
    assert "did not ask" in reset


def test_html_escapes_hostile_values_and_the_text_keeps_them_as_written() -> None:
    hostile = '<script>alert("x")</script> & co'
    context = {**CONTEXTS["quota_alert"], "allowance": hostile}

    mail = render("quota_alert", context, base_url=BASE_URL)

    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in mail.html
    assert hostile in mail.text


def test_a_quote_in_a_link_cannot_break_out_of_its_attribute() -> None:
    link = f'{BASE_URL}/verify?token=a"><img src=x onerror=alert(1)>'

    mail = render("verify_email", {"link": link}, base_url=BASE_URL)

    assert "<img" not in mail.html
    assert 'href="https://tts.example.com/verify?token=a&quot;&gt;&lt;img' in mail.html


def test_a_value_cannot_add_lines_to_the_subject() -> None:
    context = {**CONTEXTS["quota_alert"], "allowance": "characters\r\nBcc: victim@example.com"}

    mail = render("quota_alert", context, base_url=BASE_URL)

    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_the_product_name_can_be_changed() -> None:
    mail = render("password_changed", {}, base_url=BASE_URL, product="Acme Voice")

    assert mail.subject == "Your Acme Voice password was changed"
    assert "Vocalis" not in mail.text + mail.html


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mail template 'welcome'"):
        render("welcome", {}, base_url=BASE_URL)


def test_a_missing_value_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=re.escape("needs login_link, reset_link")):
        render("signup_existing", {}, base_url=BASE_URL)


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,hi", "/relative"])
def test_only_web_links_go_into_a_mail(link: str) -> None:
    with pytest.raises(ValueError, match="http"):
        render("verify_email", {"link": link}, base_url=BASE_URL)
