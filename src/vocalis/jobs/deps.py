"""What the jobs routes depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vocalis.accounts.service import Principal, Scope
from vocalis.jobs.intake import JobIntake
from vocalis.kit.deps import provided
from vocalis.storage.files import AudioStore
from vocalis.usage.deps import rate_limited

JobIntakeDep = Annotated[JobIntake, Depends(provided(JobIntake))]
AudioStoreDep = Annotated[AudioStore, Depends(provided(AudioStore))]
JobsCaller = Annotated[Principal, Depends(rate_limited(Scope.JOBS))]
