"""What several commands share: the question bank, its problems printed to stderr."""

from __future__ import annotations

import typer

from app.config import Settings
from app.questions import QuestionBank, load_folder


def load_bank(settings: Settings) -> QuestionBank:
    """Load the question files, printing each problem; the valid questions still load."""
    bank = load_folder(settings.questions_dir)
    for error in bank.errors:
        typer.echo(str(error), err=True)
    return bank
