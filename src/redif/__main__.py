"""Allow ``python -m redif``."""

from redif.cli.main import main

main()
