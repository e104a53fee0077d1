"""Writing and verifying the audit log.

Every service that changes state calls :func:`log_action` inside its transaction with a stable
action code (``account.create``, ``sale.complete`` …), the object, and its state before and
after. Each row carries the hash of the row before it, so editing or deleting a row breaks
the chain and ``prepaid audit verify`` finds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from prepaid.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


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
    """Append one audit entry. Must run inside the transaction of the change it records."""
    assert transaction.get_connection().in_atomic_block, "audit outside a transaction"
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head = AuditHead.objects.create(pk=1, last_hash=GENESIS, count=0)
        head = AuditHead.objects.select_for_update().get(pk=1)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    entry = AuditEntry(
        time=timezone.now(),
        operator=operator if getattr(operator, "pk", None) else None,
        operator_name=getattr(operator, "username", "") or "system",
        station=station,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_jsonable(before),
        after=_jsonable(after),
        previous_hash=head.last_hash,
    )
    entry.hash = _row_hash(entry.previous_hash, _hashed_fields(entry))
    entry.save()
    head.last_hash = entry.hash
    head.count += 1
    head.save(update_fields=["last_hash", "count"])
    return entry


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    result: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return result


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
            return ChainReport(False, count, entry.id, "previous hash does not match")
        if _row_hash(previous, _hashed_fields(entry)) != entry.hash:
            return ChainReport(False, count, entry.id, "row content does not match its hash")
        previous = entry.hash
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != previous or head.count != count):
        return ChainReport(False, count, None, "rows are missing at the end of the log")
    return ChainReport(True, count)
