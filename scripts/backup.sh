#!/usr/bin/env bash
# Back up what annotate keeps: the PostgreSQL database and the encrypted audio folder.
#   DATABASE_URL=postgres://... ANNOTATE_PRIVATE_ROOT=/srv/annotate/private scripts/backup.sh /backups/2026-12-01
# Writes DIR/annotate.dump (pg_dump, custom format) and DIR/private.tar (the folder as is:
# every file in it is already encrypted). The keys (ANNOTATE_DATA_KEY, ANNOTATE_IDENTITY_KEY,
# ANNOTATE_LOOKUP_KEY, ANNOTATE_SECRET_KEY) are NOT in the backup: keep them in your secret
# store; without them the audio and the sealed identities cannot be read.
set -euo pipefail
dir=${1:?usage: scripts/backup.sh DIR}
: "${DATABASE_URL:?set DATABASE_URL (postgres://...)}"
: "${ANNOTATE_PRIVATE_ROOT:?set ANNOTATE_PRIVATE_ROOT (the encrypted audio folder)}"
mkdir -p "$dir"
# The database first: a file written after the dump is then an orphan at worst, never a
# row pointing at a missing file.
pg_dump --format=custom --no-owner --file="$dir/annotate.dump" "$DATABASE_URL"
tar --create --file="$dir/private.tar" --directory="$ANNOTATE_PRIVATE_ROOT" .
echo "backup written to $dir: annotate.dump ($(du -h "$dir/annotate.dump" | cut -f1)), private.tar ($(du -h "$dir/private.tar" | cut -f1))"
