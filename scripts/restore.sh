#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database and an empty folder.
#   createdb annotate_restored
#   DATABASE_URL=postgres://.../annotate_restored ANNOTATE_PRIVATE_ROOT=/srv/annotate/private scripts/restore.sh /backups/2026-12-01
# Then start the web server and workers with the same keys as the backed-up deployment.
set -euo pipefail
dir=${1:?usage: scripts/restore.sh DIR}
: "${DATABASE_URL:?set DATABASE_URL (postgres://... of an empty database)}"
: "${ANNOTATE_PRIVATE_ROOT:?set ANNOTATE_PRIVATE_ROOT (an empty folder)}"
for file in annotate.dump private.tar; do
  [ -f "$dir/$file" ] || { echo "restore: $dir/$file is missing" >&2; exit 1; }
done
mkdir -p "$ANNOTATE_PRIVATE_ROOT"
if [ -n "$(ls -A "$ANNOTATE_PRIVATE_ROOT")" ]; then
  echo "restore: $ANNOTATE_PRIVATE_ROOT is not empty; restore into an empty folder" >&2
  exit 1
fi
pg_restore --no-owner --exit-on-error --single-transaction --dbname="$DATABASE_URL" "$dir/annotate.dump"
tar --extract --file="$dir/private.tar" --directory="$ANNOTATE_PRIVATE_ROOT"
echo "restored $dir into the database and $ANNOTATE_PRIVATE_ROOT"
