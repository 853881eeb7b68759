"""Allow ``python -m app`` as well as the ``tfquiz`` script."""

from app.cli import main

main()
