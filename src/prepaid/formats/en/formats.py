"""English: dates as year-month-day and times on the 24-hour clock (2026-11-28 15:05, not
11/28/2026 3:05 p.m.), unambiguous to a reader of any convention, as the Chinese forms, the
office's ledger, receipts and exports write them."""

DATE_FORMAT = "Y-m-d"  # 2026-11-28
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"  # 15:05
DATETIME_FORMAT = "Y-m-d H:i"  # 2026-11-28 15:05
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
YEAR_MONTH_FORMAT = "Y-m"  # 2026-11
