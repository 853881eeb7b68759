"""Instructor dashboard: the class at a glance, per-question analysis and learner pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.auth import require_instructor
from app.csrf import require_csrf

router = APIRouter(dependencies=[Depends(require_instructor), Depends(require_csrf)])
