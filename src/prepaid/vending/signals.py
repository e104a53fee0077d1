"""Signals of the vending app, so other apps can react without vending knowing them."""

from django.dispatch import Signal

# Sent after a customer's user card has been read and its pending purchases settled.
# Arguments: card_record (CustomerCard), card (the decoded Card), operator, station (name),
# accounts (the customer's CustomerAccounts with their account, or None: not read yet).
user_card_read = Signal()
