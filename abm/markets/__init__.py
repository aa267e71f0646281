"""Exogenous market processes: BTC price and transaction-fee paths."""
