"""``python -m dbos_client``: the `dbos` command line."""

from __future__ import annotations

from ._cli import main

main()
