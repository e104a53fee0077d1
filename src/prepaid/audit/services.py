"""Writing and verifying the audit log.

Every service that changes state calls :func:`log_action` inside its transaction with a stable
action code (``account.create``, ``sale.complete`` …), the object, and its state before and
after. Each row carries the hash of the row before it, so editing or deleting a row breaks
the chain and ``prepaid audit verify`` finds it. :mod:`prepaid.audit.log` reads it (审计日志),
for administrators.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from prepaid.audit.models import AuditEntry, AuditHead
from prepaid.core.errors import _
from prepaid.rows import execute, table

GENESIS = "0" * 64

# Every change appends here, on the hot path of a sale: plain statements (see prepaid.rows).
ENTRIES = table(AuditEntry)


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(
        entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode()


def _row_hash(previous_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode() + _canonical(fields)).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "time": entry.time.isoformat(),
        "operator": entry.operator_id,
        "operator_name": entry.operator_name,
        "station": entry.station,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
    }


def log_action(
    operator: Any,
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    station: str = "",
) -> AuditEntry:
    """Append one audit entry. Must run inside the transaction of the change it records.

    Inside :func:`appended_together` the entry is appended at the end of that block."""
    assert transaction.get_connection().in_atomic_block, "audit outside a transaction"
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    entry = ENTRIES.new(
        time=timezone.now(),
        operator=operator if getattr(operator, "pk", None) else None,
        operator_name=getattr(operator, "username", "") or "system",
        station=station,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    queue: list[AuditEntry] | None = getattr(_together, "queue", None)
    if queue is not None:
        queue.append(entry)
    else:
        _append([entry])
    return entry


_together = threading.local()


@contextmanager
def appended_together() -> Iterator[None]:
    """Append the audit entries of the block at its end, in order, taking the chain's head
    once: fewer statements, and the head — the one row every station's audited change
    locks — is held only from there to the commit. Use it as the innermost block of the
    transaction; nested blocks join the outer one. Nothing is appended if the block fails
    (its transaction rolls back); so it must not contain a savepoint that is rolled back
    after logging while the block goes on."""
    if getattr(_together, "queue", None) is not None:
        yield
        return
    _together.queue = []
    try:
        yield
        queue, _together.queue = _together.queue, None
        if queue:
            _append(queue)
    finally:
        _together.queue = None


def _append(entries: list[AuditEntry]) -> None:
    assert transaction.get_connection().in_atomic_block, "audit outside a transaction"
    head = _locked_head()
    if head is None:
        AuditHead.objects.create(pk=1, last_hash=GENESIS, count=0)
        head = _locked_head()
        assert head is not None
    last_hash, count = head
    for entry in entries:
        entry.previous_hash = last_hash
        entry.hash = last_hash = _row_hash(last_hash, _hashed_fields(entry))
    ENTRIES.insert_all(entries)
    execute(
        'UPDATE audit_audithead SET last_hash = %s, "count" = %s WHERE id = 1',
        [last_hash, count + len(entries)],
    )


def _locked_head() -> tuple[str, int] | None:
    """The chain's head, locked until the transaction ends (so the chain stays a chain)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    row = execute('SELECT last_hash, "count" FROM audit_audithead WHERE id = 1' + lock).fetchone()
    return (row[0], int(row[1])) if row else None


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """``value`` as it reads back from JSON (anything else than JSON's own types as its
    ``str``): what the entry's hash is computed over. Most entries hold JSON's types only and
    are taken as they are (a copy, so that the caller's dict is not the entry's)."""
    if value is None:
        return None
    if _plain_json(value):
        return _copied(value)
    result: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return result


_SCALARS = (str, int, bool, type(None))


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is made of JSON's own types alone (no float: its text may differ)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    if kind is list:
        return all(_plain_json(v) for v in value)
    return False


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    return value


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str = ""


def verify_chain() -> ChainReport:
    """Recompute every hash in order; the first row that does not fit is reported."""
    previous = GENESIS
    count = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if entry.previous_hash != previous:
            return ChainReport(False, count, entry.id, _("previous hash does not match"))
        if _row_hash(previous, _hashed_fields(entry)) != entry.hash:
            return ChainReport(False, count, entry.id, _("row content does not match its hash"))
        previous = entry.hash
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != previous or head.count != count):
        return ChainReport(False, count, None, _("rows are missing at the end of the log"))
    return ChainReport(True, count)
