"""Calibration on recorded data: the market maker's A, k and sigma from a recording.

`intensity.calibrate_file` reads a `.frames.gz` recording (trades and order books) and fits
the trading intensity λ(δ) = A·e^(-kδ) and the mid's volatility with the same pure
estimators the live market maker uses (services/strategy/mm/estimators.py), so its values
serve as defaults and as the starting point of sweeps. `python -m research.calibration`
prints them.
"""
