"""The generic discrete-event machinery: the kernel, random streams and draws,
distributions, the per-minute recorder and the request trace. Nothing here knows of
schools.
"""
