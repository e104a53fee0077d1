#!/usr/bin/env bash
# Refresh the translation catalogs from the code and templates, then compile them.
# Needs GNU gettext (Debian package gettext). Run after changing user-visible strings, then
# translate the new entries in src/prepaid/locale/zh_Hans/LC_MESSAGES/django.po.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/src/prepaid"
export DJANGO_SETTINGS_MODULE=prepaid.settings
export PREPAID_HOME="${PREPAID_HOME:-$(mktemp -d)}"
DJANGO_ADMIN="$ROOT/.venv/bin/django-admin"
[ -x "$DJANGO_ADMIN" ] || DJANGO_ADMIN=django-admin
# Every message goes into the one project catalog (src/prepaid/locale), which is what
# tests/test_translations.py checks; app-level locale dirs (e.g. reports/locale) are left alone.
"$DJANGO_ADMIN" makemessages -l zh_Hans --no-obsolete --no-location \
  -i "migrations/*" -i "*/static/*" -i "*/locale"
"$DJANGO_ADMIN" compilemessages -l zh_Hans -i "*/locale"
