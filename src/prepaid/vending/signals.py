"""Signals of the vending app, so other apps can react without vending knowing them."""

from django.dispatch import Signal

# Sent after a customer's user card has been read and its pending purchases settled.
# Arguments: card_record (CustomerCard), card (the decoded Card), operator, station (name).
user_card_read = Signal()
