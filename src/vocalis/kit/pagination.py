"""Limit/offset pagination shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_PAGE_SIZE = 200
# Far past the end of any list here, and well inside every database's integer range: an offset
# near 2**63 overflows the query (a 500) instead of returning an empty page.
MAX_OFFSET = 2**31 - 1


class PageParams(BaseModel):
    limit: int
    offset: int

    def page(self, data: list[T], total: int) -> Page[T]:
        return Page(data=data, total=total, limit=self.limit, offset=self.offset)


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 200).")
    ] = 50,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description=f"Items to skip (at most {MAX_OFFSET}).")
    ] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    data: list[T]
    total: int
    limit: int
    offset: int


PageDep = Annotated[PageParams, Depends(page_params)]
