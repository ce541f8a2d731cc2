"""Deterministic Parquet files: the same rows in the same order give the same bytes.

Row groups have a fixed size whatever batch sizes the source delivered, so file hashes depend
only on the data, not on how the reader chunked it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

ROW_GROUP_ROWS = 128 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def file_name(table_key: str) -> str:
    """A portable file name for a table key (quotes, spaces, slashes and unicode included)."""
    safe = _SAFE.sub("_", table_key).strip("._") or "table"
    if safe != table_key:
        safe = f"{safe}-{hashlib.sha256(table_key.encode()).hexdigest()[:8]}"
    return f"{safe}.parquet"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class TableWriter:
    """Streams record batches of one table into a Parquet file with fixed-size row groups."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(
            path, schema, compression="zstd", write_statistics=True, use_dictionary=True
        )

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if batch.schema != self.schema:
            batch = conform(batch, self.schema)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        while self._pending_rows >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, rows: int) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches(self._pending, schema=self.schema)
        head, rest = table.slice(0, rows), table.slice(rows)
        self._writer.write_table(head, row_group_size=rows)
        self.rows += head.num_rows
        self._pending = rest.to_batches()
        self._pending_rows = rest.num_rows

    def close(self) -> dict[str, Any]:
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        return {
            "rows": self.rows,
            "bytes": self.path.stat().st_size,
            "sha256": sha256_file(self.path),
        }

    def abort(self) -> None:
        # Already failing; the staging directory is removed anyway.
        with contextlib.suppress(Exception):
            self._writer.close()


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a batch to the table's schema (sources may widen types between batches)."""
    import pyarrow as pa

    columns = [
        batch.column(f.name).cast(f.type)
        if batch.schema.field(f.name).type != f.type
        else batch.column(f.name)
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)
