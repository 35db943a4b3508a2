"""One run: build the model, simulate the morning, collect the results; the
pre-flight checks (memory, events) and the fingerprint of the code.
"""
