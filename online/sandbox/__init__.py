"""Built-in sandbox factory server: emulates the Foundries API endpoints tuf-online uses.

- ``factory``: pure construction of a new factory (roots, online keys, owner tarball);
- ``rules``: pure checks a factory applies to an uploaded root;
- ``state``: the on-disk state directory shared by ``create-factory`` and ``serve``;
- ``provision``: writes a new factory and the owner's keys tarball;
- ``server``: the HTTP server (``SandboxServer``), loopback only.

Heavy modules are imported lazily by the commands; import submodules directly.
"""
