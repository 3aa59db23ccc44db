"""Parity: does the backtest decide what the live (paper) system decided on the same market?

Module map: `align` (the pure alignment of two sequences by a key: Myers' shortest edit
script), `records` (a decision and a fill as compared, from the live journal and from a
backtest result), `live` (the session's executor journal, read-only, and its recorded
events), `latency` (the session's latencies as the backtest's `Latency` samples),
`compare` (the comparison and its report), `session` (a recorded session: where its files
are, the backtest run on it) and `cli` (scripts/parity).
"""
