"""``tganaug plugins``: list registered plugins per kind, with where each comes from."""

from __future__ import annotations

import argparse

from tganaug.hookspecs import PLUGIN_KINDS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins", help="list registered plugins",
        description="List the registered plugins per kind, with the package and entry point each comes from. "
        "A plugin that fails to load is skipped with a warning naming it.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tganaug.registry import default_registry

    registry = default_registry()
    for kind, (group, _hook) in PLUGIN_KINDS.items():
        print(f"{kind}s (entry-point group {group}):")
        infos = [registry.info(kind, name) for name in registry.names(kind)]
        if not infos:
            print("  (none)")
        for info in infos:
            print(f"  {info.name:<14} from {info.distribution}  [{info.entry_point}]")
    return 0
