"""Simulated devices: meters kept as JSON files under the data directory (``meters/``).

The device model itself is :mod:`prepaid.core.meter`; this package only stores it.
"""
