"""The instructor playground: edit a demo and run the edited code live, in the sandbox."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.auth import require_instructor
from app.csrf import require_csrf

router = APIRouter(dependencies=[Depends(require_instructor), Depends(require_csrf)])
