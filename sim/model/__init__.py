"""The SimPy model: people, services, classrooms. Pure simulation: no files, no printing.

Entry point: :func:`sim.model.build.build`.
"""
