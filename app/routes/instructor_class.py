"""Instructor pages for the class: who may start, the join code, the roster and merges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.classes import get_class_settings, regenerate_join_code, save_class_mode
from app.identity import fresh_code
from app.merging import MergeRefused, merge_candidates, merge_learners
from app.roster import RosterPreview, decode_roster, import_roster, read_roster, roster
from app.validation import InvalidText
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import MAX_ROW_ID, DatabaseDep, ReadSession, RowIdField
from app.web.pages import redirect, render

router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf)], include_in_schema=False
)
ModeField = Annotated[str, Form(max_length=20)]
MAX_CSV_CHARS = 500_000  # the body limit (TFQUIZ_MAX_BODY_BYTES) bounds it first by default


class MergeForm(BaseModel):
    """Which learner to merge away, into which, and whether this is the confirmation."""

    merged: RowIdField
    kept: RowIdField
    action: str = Field(default="preview", max_length=20)

    def ids(self) -> dict[str, int]:
        """Return the two ids, for the form shown again."""
        return {"merged": self.merged, "kept": self.kept}


@router.get("/instructor/class")
def class_page(request: Request, instructor: InstructorDep, session: ReadSession) -> Response:
    """Show the class mode with its join code, and the way to the roster and merges."""
    chosen = get_class_settings(session)
    return render(request, "instructor/class.html", instructor=instructor, chosen=chosen)


@router.post("/instructor/class")
def class_save(
    request: Request, instructor: InstructorDep, database: DatabaseDep, mode: ModeField = ""
) -> Response:
    """Store who may start: anyone, whoever has the join code, or the roster's learners."""
    try:
        with database.writing() as session:
            chosen = save_class_mode(session, mode)
    except InvalidText as error:
        with database.reading() as session:
            current = get_class_settings(session)
        return render(
            request,
            "instructor/class.html",
            422,
            instructor=instructor,
            chosen=current,
            error=str(error),
        )
    said = {"open": "anyone may start", "code": "a class code", "roster": "the roster"}
    return redirect(request, "/instructor/class", f"Class mode saved: {said[chosen.mode]}.")


@router.post("/instructor/class/code")
def code_regenerate(request: Request, database: DatabaseDep) -> Response:
    """Replace the join code; the old one stops working at once."""
    with database.writing() as session:
        chosen = regenerate_join_code(session)
    return redirect(request, "/instructor/class", f"New class code: {chosen.shown_code}.")


@router.get("/instructor/class/code")
def code_projected(request: Request, instructor: InstructorDep, session: ReadSession) -> Response:
    """Show the join code large, for a projector at the front of the class."""
    chosen = get_class_settings(session)
    return render(request, "instructor/class_code.html", instructor=instructor, chosen=chosen)


@router.get("/instructor/class/roster")
def roster_page(request: Request, instructor: InstructorDep, session: ReadSession) -> Response:
    """Show the roster as a printable list, and the form that imports a CSV of names."""
    return render(
        request,
        "instructor/roster.html",
        instructor=instructor,
        roster=roster(session),
        mode=get_class_settings(session).mode,
    )


@router.post("/instructor/class/roster")
def roster_import(
    request: Request,
    instructor: InstructorDep,
    database: DatabaseDep,
    file: Annotated[UploadFile | None, File()] = None,
    csv_text: Annotated[str, Form(max_length=MAX_CSV_CHARS)] = "",
    action: Annotated[str, Form(max_length=20)] = "preview",
) -> Response:
    """Preview a roster CSV line by line; import it whole when asked and every line is good."""
    uploaded = file.file.read() if file is not None and file.filename else b""
    text, problems = decode_roster(uploaded) if uploaded else (csv_text, [])
    # An import reads and writes in one transaction: no name can slip in between the check.
    importing = action == "import"
    codes: list[tuple[str, str]] = []
    if importing and text is not None:
        with database.reading() as session:
            first = read_roster(session, text)
        # Hashed before the write transaction, which would otherwise hold every answer.
        codes = [fresh_code() for _ in range(first.count("new"))] if first.ok else []
    try:
        with database.writing() if importing else database.reading() as session:
            preview = (
                RosterPreview(problems=problems) if text is None else read_roster(session, text)
            )
            if importing and preview.ok:
                added, shown = import_roster(session, preview, codes)
                page = render(
                    request,
                    "instructor/roster_codes.html",
                    instructor=instructor,
                    added=added,
                    shown=shown,
                )
                page.headers["Cache-Control"] = "no-store"  # the codes, shown once
                return page
    except InvalidText as error:  # a look-alike name, or a race: the whole import undone
        preview = RosterPreview(rows=preview.rows, problems=[str(error)])
    return render(
        request,
        "instructor/roster_preview.html",
        200 if preview.ok else 422,
        instructor=instructor,
        preview=preview,
        csv_text=text or "",
    )


@router.get("/instructor/class/merge")
def merge_form(
    request: Request,
    instructor: InstructorDep,
    merged: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    kept: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """Ask which learner to merge into which (the ids the dashboard links to)."""
    return render(request, "instructor/merge.html", instructor=instructor, merged=merged, kept=kept)


@router.post("/instructor/class/merge")
def merge_submit(
    request: Request,
    instructor: InstructorDep,
    database: DatabaseDep,
    form: Annotated[MergeForm, Form()],
) -> Response:
    """Show both learners to confirm, then merge: every attempt moves, in one transaction."""
    confirm = form.action == "merge"
    try:
        with database.writing() if confirm else database.reading() as session:
            if not confirm:
                pair = merge_candidates(session, form.merged, form.kept)
                return render(
                    request, "instructor/merge.html", instructor=instructor, pair=pair, **form.ids()
                )
            done = merge_learners(session, form.merged, form.kept, instructor.id)
    except MergeRefused as error:
        return render(
            request,
            "instructor/merge.html",
            422,
            instructor=instructor,
            error=str(error),
            **form.ids(),
        )
    moved = f"{done.attempts_moved} attempt{'s' if done.attempts_moved != 1 else ''}"
    message = f"“{done.merged_name}” merged into “{done.kept_name}”: {moved} moved."
    return redirect(request, f"/instructor/learners/{done.kept_id}", message)
