"""The audit log (审计日志): :mod:`prepaid.audit.services` writes and verifies it, on the path
of every change; :mod:`prepaid.audit.log` reads it for administrators, with its labels and
tables (imported only by what shows the log)."""
