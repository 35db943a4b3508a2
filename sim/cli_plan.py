"""`sim plan`: the command registered on :data:`sim.cli.app`."""
