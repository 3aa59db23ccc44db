"""Parameter sweeps: many backtests of the strategy, one study, the best as a fragment.

Module map: `space` (the `--param` specs, checked against `StrategySettings`; the grid),
`objective` (one trial = one `research.backtest` run, scored on a summary field), `data`
(the recording, in memory when small), `walk_forward` (the in-sample / out-of-sample cut
by receive time), `runner` (optuna's study, samplers, storage and the worker processes),
`report` (the table), `fragment` (the best as a [strategy] fragment, merged into a
settings file) and `cli` (scripts/sweep). docs/decisions/0007-sweeps.md says why.
"""
