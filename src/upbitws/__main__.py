"""``python -m upbitws``: the command line."""

from upbitws.cli import main

main()
