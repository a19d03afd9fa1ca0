"""Imperative shell: each module owns exactly one effect."""
