"""Build orchestration: source -> subset plan -> stages (synthesize, redact) -> Parquet files ->
integrity and fidelity checks -> publish into the store; and the starter config of ``init``."""
