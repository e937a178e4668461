"""Bodies of the web account routes (sign-up, login, the self-service API)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from vocalis.kit.schemas import RequestBody

Email = Field(max_length=320, json_schema_extra={"format": "email"})
# Bounded well above bcrypt's 72 bytes, so an over-long password gets the clear 422 of the
# password rules rather than a generic one.
Password = Field(min_length=1, max_length=1024)
Token = Field(min_length=1, max_length=200)


class Credentials(RequestBody):
    email: str = Email
    password: str = Password


class EmailOnly(RequestBody):
    email: str = Email


class TokenOnly(RequestBody):
    token: str = Token


class PasswordReset(RequestBody):
    token: str = Token
    password: str = Password


class PasswordChange(RequestBody):
    current_password: str = Password
    new_password: str = Password


class Accepted(BaseModel):
    detail: str


class CsrfToken(BaseModel):
    csrf_token: str = Field(description="Send it back in X-CSRF-Token on every POST/PATCH/DELETE")


class Me(BaseModel):
    id: str
    email: str
    email_verified: bool
    plan: str
    created_at: datetime | None = None
    is_admin: bool = Field(False, description="An operator: may use the admin API and pages")


class SessionState(BaseModel):
    account: Me | None = Field(description="Who is logged in; null for a visitor")
    csrf_token: str | None = Field(description="For X-CSRF-Token; null for a visitor")
    mail_delivery: Literal["email", "log"] = Field(
        description="log: this server has no mail service, so mailed links are in its log"
    )


class LoggedIn(Me):
    csrf_token: str = Field(description="The same as GET /auth/csrf answers")


class KeyRename(RequestBody):
    name: str = Field(min_length=1, max_length=100)


class EmailChange(RequestBody):
    new_email: str = Email
    password: str = Password


class AccountDeletion(RequestBody):
    password: str = Password
