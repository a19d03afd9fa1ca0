"""What both halves share: durable files, homes, the console and the CLI error frame.

``online`` imports only ``appliance.core`` and this package; ``appliance.core`` imports
nothing with effects; nothing here imports ``appliance.shell`` or ``appliance.commands``.
"""
