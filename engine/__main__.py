"""``python -m partways``: the command line."""

from partways.cli.main import main

main(prog_name="partways")
