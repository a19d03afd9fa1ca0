"""``tuf-online``: the networked half (export requests, import responses, sandbox server)."""

from __future__ import annotations

from appliance.common.cliframe import make_app, run_cli

app = make_app("tuf-online", "Online station: fetch roots into signed requests, verify and upload responses.")


def main() -> None:
    import sys

    from .commands import register_for

    run_cli(app, "tuf-online", register_for(sys.argv[1:]))
