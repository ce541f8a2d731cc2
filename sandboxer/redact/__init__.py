"""Redaction: detect PII, replace it with keyed consistent pseudonyms, prove nothing leaked.

detect (names, values, text spans, JSON leaves) -> policy (auto/strict)
-> strategies (vectorised, keyed) as a build stage -> leak gate before publish
"""
