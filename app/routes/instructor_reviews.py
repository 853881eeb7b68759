"""Instructor reviews: score overrides with history, claims, the reveal policy and exports."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.auth import require_instructor
from app.csrf import require_csrf

router = APIRouter(dependencies=[Depends(require_instructor), Depends(require_csrf)])
