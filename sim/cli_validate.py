"""`sim validate`: the command registered on :data:`sim.cli.app`."""
