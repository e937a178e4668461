"""What every request body shares: unknown fields refused, and only text that can be stored;
and `limited_by`, for schema limits that come from settings.

JSON may spell a lone UTF-16 surrogate (`"\\ud800"`); Python decodes it into a `str` that cannot
be encoded as UTF-8, so hashing, storing or echoing it fails deep inside a request. Bodies refuse
it up front, as a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

SETTING_LIMITS = "x-vocalis-limits"


def limited_by(**settings: str) -> dict[str, Any]:
    """Schema keywords whose value is a setting's, filled in when /openapi.json is built (e.g.
    `limited_by(maxLength="max_text_chars")`), so the served schema states this server's limits."""
    return {SETTING_LIMITS: settings}


def valid_unicode(value: Any) -> Any:
    """`value` unchanged, unless a string in it (at any depth) holds a lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PydanticCustomError(
                "invalid_unicode",
                "is not valid Unicode: lone surrogate U+{code} at character {position}",
                {"code": f"{ord(value[exc.start]):04X}", "position": exc.start},
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            valid_unicode(key)
            valid_unicode(item)
    elif isinstance(value, list | tuple):
        for item in value:
            valid_unicode(item)
    return value  # nested request models check their own fields


class RequestBody(BaseModel):
    """Base of every JSON request body."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        return valid_unicode(value)
