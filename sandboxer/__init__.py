"""sandboxer: DataOps sandboxes and PII-safe test data management."""

__version__ = "0.1.0"
