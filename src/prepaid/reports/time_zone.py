"""Is this station's time zone the office's? (docs/stations.md)

The office's day is one for every station: shifts' times, the days and months of the reports
and of the stored totals, tier periods (阶梯 by month or year) are all counted in
``PREPAID_TIME_ZONE``. Two stations in different zones on one database would disagree on what
"today" is, and rebuild the stored totals back and forth. So the database records the
office's zone (:class:`~prepaid.reports.models.OfficeTimeZone`) and a station or command in
another zone is refused (``wrong_time_zone``) before it does anything.

* The first ``prepaid init`` of a site records the zone; in a database from before it was
  recorded, the first command or server start after the upgrade records its own, without
  refusing. The recording is audited (``office.time_zone.record``).
* An administrator changes it deliberately (:func:`change_office_time_zone`, ``prepaid office
  time-zone ZONE``): the stored totals are counted again in the new zone at once. Another
  name of the same zone (``PRC`` for ``Asia/Shanghai``) is recorded and audited as asked,
  but counts nothing again: the days are the same.
* Zones are compared by their data, not their names: a station set to ``PRC`` or
  ``Asia/Chongqing`` (names the zone database links to ``Asia/Shanghai``) counts its days as the
  office's ``Asia/Shanghai`` does and is not refused; ``Asia/Taipei``, which agrees with
  Shanghai today but not in its history, is another zone (:func:`same_zone`).
* The check costs one query per process: every ``prepaid`` command on the database makes it
  once before it runs, ``prepaid serve`` once before it starts serving. A server left running
  while the zone is changed is stopped short by the stored totals, which compare the zone they
  were counted in with the process's at no cost while they agree
  (:func:`prepaid.reports.aggregates.refresh_aggregates`).
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.singletons import record_once


def wrong_time_zone(station_zone: str, office_zone: str) -> PrepaidError:
    return PrepaidError(
        "wrong_time_zone",
        _(
            "This station's time zone (PREPAID_TIME_ZONE=%(station_zone)s) is not the "
            "office's (%(office_zone)s): its days, shifts and report totals would disagree "
            "with every other station's. Nothing was done. Set PREPAID_TIME_ZONE="
            "%(office_zone)s on this station and start it again; to change the office's "
            "zone, an administrator runs “prepaid office time-zone ZONE” (docs/stations.md)."
        ),
        station_zone=station_zone,
        office_zone=office_zone,
    )


def unknown_time_zone(zone: str) -> InvalidInput:
    return InvalidInput(
        "unknown_time_zone",
        _("“%(zone)s” is no time zone. Give one such as Asia/Shanghai."),
        zone=zone,
    )


def station_time_zone() -> str:
    """The zone this process counts days in (``PREPAID_TIME_ZONE``, Django's ``TIME_ZONE``),
    by its key in the zone database: ``Etc/GMT-8``, not the abbreviation ``+08`` Django's
    ``get_current_timezone_name()`` gives for a fixed-offset zone, which is no zone name
    (recorded, it would refuse every station set to the zone itself)."""
    current = timezone.get_current_timezone()
    key = getattr(current, "key", None)
    return key if isinstance(key, str) and key else timezone.get_current_timezone_name()


def office_time_zone() -> str | None:
    """The office's zone as the database records it; None before it is recorded."""
    from prepaid.reports.models import OfficeTimeZone

    return (
        OfficeTimeZone.objects.filter(pk=OfficeTimeZone.SINGLETON)
        .values_list("time_zone", flat=True)
        .first()
    )


def require_office_time_zone() -> str:
    """Refuse (``wrong_time_zone``) a station whose zone is not the office's. A database
    without the office's zone yet (a site set up before it was recorded) takes this
    station's. Returns the office's zone."""
    zone = station_time_zone()
    recorded = office_time_zone()
    if recorded is None:
        recorded = _record(zone)
    if not same_zone(recorded, zone):
        raise wrong_time_zone(zone, recorded)
    return recorded


def same_zone(one: str, other: str) -> bool:
    """Whether two zone names are one zone: the same name, or two names whose zone data are
    the same (a link and its zone: ``PRC``, ``Asia/Chongqing`` and ``Asia/Shanghai``;
    ``UTC`` and ``Etc/UTC``). Zones that agree today but not in their history
    (``Asia/Shanghai`` and ``Asia/Taipei``) are two, as are names that are no zone. The
    same name costs nothing; two names are read once per process."""
    if one == other:
        return True
    data = _zone_data(one)
    return data is not None and data == _zone_data(other)


@functools.cache
def _zone_data(key: str) -> bytes | None:
    """The zone data (TZif) :mod:`zoneinfo` loads for ``key``, found where it finds them: the
    first directory of ``zoneinfo.TZPATH`` holding it, else the ``tzdata`` package. None for a
    name that is no zone."""
    try:
        zoneinfo.ZoneInfo(key)  # also refuses a name leading out of the zone directories
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    for directory in zoneinfo.TZPATH:
        path = Path(directory, key)
        if path.is_file():
            return path.read_bytes()
    # Only where the zone directories lack it (imported here: every command checks the zone)
    import importlib.resources

    *folders, name = key.split("/")
    try:
        package = importlib.resources.files(".".join(["tzdata.zoneinfo", *folders]))
        return package.joinpath(name).read_bytes()
    except (ImportError, OSError):
        return None


def _record(zone: str) -> str:
    """Record ``zone`` as the office's; returns the one recorded (another station's when it
    got there first)."""
    from prepaid.reports.models import OfficeTimeZone

    return record_once(
        OfficeTimeZone, "time_zone", zone, "office.time_zone.record", office_time_zone
    )


@dataclass(frozen=True)
class ZoneChange:
    before: str | None  # None: not recorded before
    after: str
    changed: bool
    rebuilt: bool  # the stored totals were counted again in the new zone
    open_shifts: int  # shifts still open: their times now read in the new zone
    renamed: bool = False  # another name of the same zone: recorded, nothing counted again

    def document(self) -> dict[str, Any]:
        return {
            "time_zone": self.after,
            "before": self.before,
            "changed": self.changed,
            "renamed": self.renamed,
            "totals_rebuilt": self.rebuilt,
            "open_shifts": self.open_shifts,
        }


def change_office_time_zone(operator: Any, zone: str) -> ZoneChange:
    """An administrator sets the office's zone: recorded, audited (the old and the new zone),
    and the stored totals counted again in it, all in one transaction. Every station must then
    run with ``PREPAID_TIME_ZONE`` set to it (those still running in the old zone are refused
    from their next command, start or report). Another name of the recorded zone (``PRC`` for
    ``Asia/Shanghai``, :func:`same_zone`) is recorded and audited as asked, the operator having
    asked for that name, but the totals stand and no station is refused: the days are the
    same."""
    from prepaid.audit.services import log_action
    from prepaid.home import station_name
    from prepaid.operators.services import require_admin
    from prepaid.reports.aggregates import refresh_aggregates
    from prepaid.reports.models import OfficeTimeZone
    from prepaid.vending.models import Shift

    require_admin(operator)
    zone = _known_zone(zone)
    station = station_name()
    with transaction.atomic():
        row = OfficeTimeZone.objects.select_for_update().filter(pk=OfficeTimeZone.SINGLETON).first()
        before = row.time_zone if row is not None else None
        open_shifts = Shift.objects.filter(closed_at__isnull=True).count()
        if before == zone:
            return ZoneChange(before, zone, False, False, open_shifts)
        renamed = before is not None and same_zone(before, zone)
        row = row or OfficeTimeZone(pk=OfficeTimeZone.SINGLETON)
        row.time_zone, row.station, row.recorded_at = zone, station, timezone.now()
        row.save()
        log_action(
            operator,
            "office.time_zone",
            row,
            before={"time_zone": before},
            after={"time_zone": zone},
            station=station,
        )
        if renamed:
            return ZoneChange(before, zone, True, False, open_shifts, renamed=True)
        with timezone.override(zone):
            rebuilt = refresh_aggregates().rebuilt_from is not None
    return ZoneChange(before, zone, True, rebuilt, open_shifts)


def _known_zone(zone: str) -> str:
    """``zone`` when it names a time zone of the zone database, else refused."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise unknown_time_zone(zone) from exc
    return zone
