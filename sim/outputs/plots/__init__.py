"""The figures of sim, in one style."""
