"""Loyalty-card kiosk: a stamp card on an NFC tap, offline first."""

__version__ = "0.1.0"
