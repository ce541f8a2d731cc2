"""Small programs the runner copies into the run's staging directory and runs inside the
sandbox (with the sandbox's own ``python3`` and ``duckdb``). They import nothing from
sandboxer, since the sandbox does not have it installed."""
