"""Online half of tuf-airgap: talks to the factory server, carries bundles to the stick."""

__version__ = "0.1.0"
