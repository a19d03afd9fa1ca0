"""Pure core: no I/O, no clock, no randomness unless passed in."""
