"""The backtest engine: a recorded market, the venue core and the live strategy, in one process.

Module map: `engine` (the event loop and THE CONTRACT: the order of events), `market`
(recorded lines streamed and decoded once, for the venue and for the feed), `desk` (the
executor's decisions between strategy and venue), `reports` (the venue's reports as the
executor's events), `latency` (entry and response channels), `result` (the ledger and the
result's data), `summary` (building the result, the terminal summary), `settings`, and
`cli` (scripts/backtest). docs/decisions/0006-backtest-engine.md says why it is shaped so.
"""
