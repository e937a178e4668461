"""The mails Vocalis sends, as plain text and simple inline-styled HTML.

A template is a subject and a few blocks: sentences with `$placeholders`, and links. The text
version shows every link in full (mail clients that show text only, and people who distrust
buttons, can still follow it); the HTML version escapes every value it is given. No template
engine: `string.Template` over a handful of fixed texts is all this needs.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Link:
    """A button in HTML, a label and the full URL in text; `url` names a context value."""

    label: str
    url: str


Block = str | Link


@dataclass(frozen=True)
class MailTemplate:
    subject: str
    blocks: tuple[Block, ...]

    def needs(self) -> set[str]:
        """The context values this template uses (besides those `render` always supplies)."""
        names = set(Template(self.subject).get_identifiers())
        for block in self.blocks:
            if isinstance(block, Link):
                names.add(block.url)
                names.update(Template(block.label).get_identifiers())
            else:
                names.update(Template(block).get_identifiers())
        return names - SUPPLIED


SUPPLIED = {"product", "base_url"}  # filled in by `render` itself

TEMPLATES: dict[str, MailTemplate] = {
    "verify_email": MailTemplate(
        "Confirm your email address",
        (
            "Welcome to $product! Please confirm that this is your email address.",
            Link("Confirm email address", "link"),
            (
                "The link is valid for 24 hours. If you did not sign up for $product, you can "
                "ignore this mail."
            ),
        ),
    ),
    "reset_password": MailTemplate(
        "Reset your $product password",
        (
            "Someone asked to reset the password of your $product account.",
            Link("Choose a new password", "link"),
            (
                "The link is valid for 1 hour. If you did not ask for this, ignore this mail: "
                "your password stays as it is."
            ),
        ),
    ),
    "signup_existing": MailTemplate(
        "Someone tried to sign up with your address",
        (
            (
                "Someone just tried to create a $product account with this email address, but "
                "there already is an account for it."
            ),
            "If it was you, log in, or reset your password if you have forgotten it.",
            Link("Log in", "login_link"),
            Link("Reset your password", "reset_link"),
            "If it was not you, ignore this mail: nothing has changed on your account.",
        ),
    ),
    "confirm_new_email": MailTemplate(
        "Confirm your new email address",
        (
            (
                "You asked to change the email address of your $product account to this one. "
                "Please confirm it."
            ),
            Link("Confirm new address", "link"),
            (
                "Until you confirm, mail keeps going to your old address. If you did not ask for "
                "this, ignore this mail."
            ),
        ),
    ),
    "email_changed": MailTemplate(
        "Your $product email address was changed",
        (
            (
                "The email address of your $product account was changed to $new_email. Mail "
                "about your account goes there from now on."
            ),
            (
                "If you did not make this change, someone else may have access to your account: "
                "get in touch with us at once."
            ),
            Link("Open $product", "base_url"),
        ),
    ),
    "password_changed": MailTemplate(
        "Your $product password was changed",
        (
            "The password of your $product account was just changed.",
            "If this was you, there is nothing to do. If it was not, reset your password at once.",
            Link("Open $product", "base_url"),
        ),
    ),
    "quota_alert": MailTemplate(
        "You have used $percent% of your $allowance",
        (
            (
                "Your $product account has used $used of its $limit $allowance this period "
                "($percent%)."
            ),
            (
                "Once they are used up, requests that need more are refused until the allowance "
                "resets on $resets_at. A larger plan gives you more."
            ),
            Link("See your usage", "base_url"),
        ),
    ),
    "subscription_started": MailTemplate(
        "Welcome to $product $plan",
        (
            "Thank you: your payment went through and your $product account is now on $plan.",
            "Your monthly allowance is $allowance; it renews on $renews_at.",
            Link("Open your dashboard", "base_url"),
        ),
    ),
    "payment_failed": MailTemplate(
        "Your $product payment did not go through",
        (
            "We could not take the payment for your $product $plan subscription.",
            (
                "Please update your payment method. If the subscription stays unpaid, your "
                "account moves to the Free plan's limits on $grace_ends_at; your keys keep working."
            ),
            Link("Update your payment method", "link"),
        ),
    ),
    "plan_downgraded": MailTemplate(
        "Your $product account is on the Free plan now",
        (
            "Your $product account has moved to the Free plan: $reason",
            (
                "Your keys keep working within the Free plan's limits. You can subscribe again "
                "at any time."
            ),
            Link("See the plans", "link"),
        ),
    ),
    "account_deleted": MailTemplate(
        "Your $product account was deleted",
        (
            (
                "Your $product account and its API keys have been deleted. Thank you for using "
                "$product."
            ),
            "If you did not expect this, get in touch with us.",
        ),
    ),
}

# Inline styles: many mail clients drop <style> blocks.
PAGE_STYLE = (
    "margin:0;padding:24px;background:#f4f4f5;color:#18181b;"
    "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:16px;"
    "line-height:1.5"
)
CARD_STYLE = "max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px"
PARAGRAPH_STYLE = "margin:0 0 16px"
BUTTON_STYLE = (
    "display:inline-block;background:#4f46e5;color:#ffffff;padding:12px 20px;"
    "border-radius:6px;text-decoration:none;font-weight:600"
)
SMALL_STYLE = "margin:0 0 16px;font-size:13px;color:#71717a;word-break:break-all"
FOOTER_STYLE = "max-width:560px;margin:16px auto 0;font-size:13px;color:#71717a;text-align:center"


def render(
    template: str, context: dict[str, str], *, base_url: str, product: str = "Vocalis"
) -> RenderedMail:
    """The subject, text and HTML of `template` filled with `context`.

    Raises ValueError for an unknown template, a missing context value, or a link that is not
    an http(s) URL (a `javascript:` href must never reach a mail)."""
    try:
        chosen = TEMPLATES[template]
    except KeyError:
        raise ValueError(f"unknown mail template {template!r}") from None
    missing = chosen.needs() - context.keys()
    if missing:
        raise ValueError(f"mail template {template!r} needs {', '.join(sorted(missing))}")
    values = {**context, "product": product, "base_url": base_url}
    for block in chosen.blocks:
        if isinstance(block, Link):
            _check_link(values[block.url])
    subject = " ".join(Template(chosen.subject).substitute(values).split())  # one line
    return RenderedMail(
        subject=subject,
        text=_text(chosen, values),
        html=_html(chosen, values, subject),
    )


def _text(chosen: MailTemplate, values: dict[str, str]) -> str:
    parts = []
    for block in chosen.blocks:
        if isinstance(block, Link):
            label = Template(block.label).substitute(values)
            parts.append(f"{label}:\n{values[block.url]}")
        else:
            parts.append(Template(block).substitute(values))
    parts.append(f"-- \n{values['product']} · {values['base_url']}")
    return "\n\n".join(parts) + "\n"


def _html(chosen: MailTemplate, values: dict[str, str], subject: str) -> str:
    escaped = {name: html.escape(value) for name, value in values.items()}
    rows = []
    for block in chosen.blocks:
        if isinstance(block, Link):
            label = Template(html.escape(block.label, quote=False)).substitute(escaped)
            url = escaped[block.url]
            rows.append(
                f'<p style="{PARAGRAPH_STYLE}">'
                f'<a href="{url}" style="{BUTTON_STYLE}">{label}</a></p>\n'
                f'<p style="{SMALL_STYLE}">Or open this link: {url}</p>'
            )
        else:
            sentence = Template(html.escape(block, quote=False)).substitute(escaped)
            rows.append(f'<p style="{PARAGRAPH_STYLE}">{sentence}</p>')
    body = "\n".join(rows)
    footer = f'{escaped["product"]} · <a href="{escaped["base_url"]}">{escaped["base_url"]}</a>'
    return (
        "<!doctype html>\n"
        f'<html><head><meta charset="utf-8"><title>{html.escape(subject)}</title></head>\n'
        f'<body style="{PAGE_STYLE}">\n'
        f'<div style="{CARD_STYLE}">\n{body}\n</div>\n'
        f'<p style="{FOOTER_STYLE}">{footer}</p>\n'
        "</body></html>\n"
    )


def _check_link(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("links in mail must be http(s) URLs")
