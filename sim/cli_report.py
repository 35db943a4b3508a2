"""`sim report`: the command registered on :data:`sim.cli.app`."""
