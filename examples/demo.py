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


def demo_key() -> str:
    """A local redaction key for the demo, kept outside the snapshot store and out of git."""
    import secrets

    path = SHOP / ".demo-redaction.key"
    if not path.exists():
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def show_rows(title: str, frame: object) -> None:
    print(f"  {title}:")
    print("  " + str(frame).replace("\n", "\n  "))


def main() -> None:
    started = time.perf_counter()
    os.environ.setdefault("SHOP_REDACTION_KEY", demo_key())
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

    banner("2b. Personal data it detects (on a sample; evidence is counts, never values)")
    sandboxer("data", "scan", "--dataset", "shop", "--pii")

    banner("3. Build a snapshot: 10% of customers + everything they reference and own, "
           "redacted, leak-gated")
    sandboxer("data", "build", "shop")
    compare_rows()

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


def compare_rows() -> None:
    """The same customers before (synthetic example data) and after redaction."""
    import json

    import duckdb
    import polars as pl

    store = REPO / ".sandboxer"
    latest = json.loads((store / "refs" / "shop.json").read_text())["latest"]
    snap = store / "snapshots" / latest
    manifest = json.loads((snap / "manifest.json").read_text())
    after = pl.read_parquet(snap / manifest["tables"]["customers"]["file"]).head(3)
    cols = ["id", "first_name", "last_name", "email", "phone", "national_id"]
    with duckdb.connect(str(SHOP / "prod.duckdb"), read_only=True) as con:
        before = con.sql("select * from customers").pl()
    before = before.filter(pl.col("id").is_in(after["id"].implode())).sort("id")
    show_rows("example 'production' rows (synthetic)", before.select(cols))
    show_rows("the same rows in the snapshot", after.select(cols))


if __name__ == "__main__":
    main()
