"""The built-in request files (YAML): the paper's three examples and four more."""
