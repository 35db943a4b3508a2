"""`sim sweep` and `sim compare`: commands registered on :data:`sim.cli.app`."""
