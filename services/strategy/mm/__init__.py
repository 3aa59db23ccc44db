"""The market maker's pure stages (issue 16): guards, adaptive spread, inventory skew, taker cap.

Each stage is a pure function or a small bounded object, driven with `now_ns` passed in:
`guards` (SOFT/HARD levels with reasons), `spread` (the adaptive spread from four scores),
`skew` (the Guéant/GLFT closed form, tick rounding, inventory limits), `taker_cap` (taker
fills per rolling hour by volatility regime) and `estimators` (sigma, order-to-ack p95 and the
trading intensity A·e^(-kδ)). `settings.MarketMakerSettings` holds their parameters.
"""
