"""Probes for containers and load balancers: is the process up, can it serve?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import __version__
from app.web.deps import BankDep, DatabaseDep, PoolDep

router = APIRouter(tags=["health"])
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
def healthz() -> JSONResponse:
    """Answer while the process runs; touches nothing else."""
    return JSONResponse({"status": "ok", "version": __version__}, headers=NO_STORE)


@router.get("/readyz")
def readyz(database: DatabaseDep, bank: BankDep, pool: PoolDep) -> JSONResponse:
    """Say whether this process can serve: database reachable and questions loaded.

    The demo pool's state is reported but does not decide readiness: without workers the
    quiz still works and demos show their cached results.
    """
    checks: dict[str, Any] = {}
    try:
        with database.reading() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except SQLAlchemyError as error:
        checks["database"] = {"ok": False, "error": type(error).__name__}
    checks["questions"] = {
        "ok": bool(bank.questions),
        "loaded": len(bank.questions),
        "invalid_files": len(bank.errors),
    }
    checks["demos"] = pool.state
    ready = checks["database"]["ok"] and checks["questions"]["ok"]
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)
