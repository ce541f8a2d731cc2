"""`make demo`: the main job on the embedded example, through the real CLI.

example production database -> scan -> snapshot build -> list -> verify -> show.
Later issues extend it: sandbox -> pipeline -> comparison.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHOP = REPO / "examples" / "shop"
CONFIG = SHOP / "sandboxer.yaml"


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def sandboxer(*args: str) -> None:
    exe = shutil.which("sandboxer", path=str(Path(sys.executable).parent)) or "sandboxer"
    cmd = [exe, "--config", str(CONFIG), *args]
    print(f"$ sandboxer {' '.join(args)}", flush=True)
    result = subprocess.run(cmd, cwd=REPO, check=False)
    if result.returncode != 0:
        sys.exit(f"demo step failed: sandboxer {' '.join(args)} (exit {result.returncode})")


def main() -> None:
    started = time.perf_counter()
    banner(
        "1. A 'production' database: examples/shop/prod.duckdb (customers with PII, "
        "orders, payments...)"
    )
    subprocess.run(
        [sys.executable, str(SHOP / "generate.py"), "--out", str(SHOP / "prod.duckdb")],
        check=True,
        cwd=REPO,
    )

    banner("2. What sandboxer sees in it: tables, keys, cycles, reachability")
    sandboxer("data", "scan", "--dataset", "shop")

    banner("3. Build a snapshot: 10% of customers + everything they reference and own")
    sandboxer("data", "build", "shop")

    banner("4. Build it again: same source + config + seed = same content id")
    sandboxer("data", "build", "shop")

    banner("5. The store")
    sandboxer("data", "list")

    banner("6. Verify: checksums, Parquet footers, zero FK orphans, unique keys")
    sandboxer("data", "verify", "shop")

    banner("7. The manifest")
    sandboxer("data", "show", "shop")

    print(f"\nDemo done in {time.perf_counter() - started:.1f} s. Look at:")
    print(
        f"  - {REPO / '.sandboxer' / 'snapshots'}: one directory per snapshot, Parquet + "
        "manifest.json"
    )
    print("  - examples/shop/sandboxer.yaml: roots, lookup tables, relations")
    print("  - try: .venv/bin/sandboxer --config examples/shop/sandboxer.yaml data build shop-de")
    os.environ.pop("SHOP_SOURCE", None)


if __name__ == "__main__":
    main()
