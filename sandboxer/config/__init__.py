"""Configuration: the sandboxer.yaml model tree and its strict loader."""
