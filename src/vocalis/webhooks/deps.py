"""What routes that send webhooks depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vocalis.kit.deps import provided
from vocalis.webhooks.urls import Resolver

ResolverDep = Annotated[Resolver, Depends(provided(Resolver))]
