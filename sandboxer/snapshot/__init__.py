"""Snapshots: immutable, verifiable, versioned test datasets, and the store that holds them."""
