"""English: times on the 24-hour clock (15:05, not 3:05 p.m.), as in Chinese and as an
office's ledger, receipts and exports write them; dates stay as Django writes English ones."""

TIME_FORMAT = "H:i"  # 15:05
DATETIME_FORMAT = "N j, Y, H:i"  # Nov. 28, 2026, 15:05
SHORT_DATETIME_FORMAT = "m/d/Y H:i"  # 11/28/2026 15:05
