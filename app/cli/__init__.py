"""The ``tfquiz`` command: serve, migrate, check question files, grade answers.

Each family of commands lives in its own module; this one gathers them into one typer app
and keeps the entry point (``tfquiz = "app.cli:main"``).
"""

from __future__ import annotations

import typer

from app.cli import demos, exports, grading, housekeeping, instructors, learners, lti, serve

cli = typer.Typer(help="tfquiz: a self-grading TensorFlow quiz.", no_args_is_help=True)
instructor_cli = typer.Typer(help="Manage instructor accounts.", no_args_is_help=True)
cli.add_typer(instructor_cli, name="instructor")

for command in (
    serve.serve,
    serve.migrate,
    grading.check,
    grading.grade,
    grading.regrade,
    demos.demo,
    demos.verify,
    exports.export,
    learners.merge_learners,
    housekeeping.prune,
):
    cli.command()(command)
instructor_cli.command("add")(instructors.instructor_add)
lti_cli = typer.Typer(help="Register the LMSs that launch tfquiz (LTI 1.3).", no_args_is_help=True)
cli.add_typer(lti_cli, name="lti")
lti_cli.command("add-platform")(lti.add_platform)
lti_cli.command("list")(lti.list_platforms)
lti_cli.command("remove")(lti.remove_platform)
lti_cli.command("rotate-key")(lti.rotate_key)


def main() -> None:
    """Run the CLI."""
    cli()
