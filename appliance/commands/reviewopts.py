"""The review options every ceremony command takes (``--review-only``, ``--full-ids``)."""

from __future__ import annotations

REVIEW_ONLY_HELP = (
    "Print the whole review and stop: nothing is changed, exit 0 (the new key shown is kept for this request)."
)
FULL_IDS_HELP = "Show every key id in full (on a line of its own) beside the short prefix."
