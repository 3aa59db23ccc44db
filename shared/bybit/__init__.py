"""The Bybit V5 contract, mirrored from its docs: wire types, signing, clients, translation.

Used by the scanner, feed and executor, and by the simulator for its wire types.
"""
