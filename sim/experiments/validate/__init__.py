"""`sim validate`: textbook queueing results checked through the engine."""
