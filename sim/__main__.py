"""Allow ``python -m sim``: the entry point that handles Ctrl-C from its first line
(see :mod:`sim.entry`)."""

from sim.entry import main

main()
