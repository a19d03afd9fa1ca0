"""Offline half of tuf-airgap: the air-gapped signing appliance."""

__version__ = "0.1.0"
