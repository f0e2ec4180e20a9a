#!/usr/bin/env bash
# Prints the digests of every reference case (cases.txt) as run by the trajectoire binary given
# as the first argument: `case file sha256`, one line per data file. Run from the repository's
# root, e.g. `tests/reference/generate.sh ../ref040/target/release/trajectoire`. The digests in
# v0.4.0.sha256 were made this way with trajectoire 0.4.0 (commit 3984b2b).
set -euo pipefail
bin=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -v '^#' tests/reference/cases.txt | while IFS='|' read -r name args; do
  name=$(echo "$name" | xargs)
  out="$work/$name"
  eval "\"$bin\" ${args//OUT/\"$out\"}"
  for f in $(cd "$out" && ls | sort); do
    case "$f" in
      summary.json)
        digest=$(sed -E 's/^( *"wall_seconds": ).*$/\1W/; s/^( *"trajectoire_version": ).*$/\1V/' "$out/$f" | sha256sum | cut -d' ' -f1) ;;
      *.csv|*.json)
        digest=$(sha256sum < "$out/$f" | cut -d' ' -f1) ;;
      *) continue ;;
    esac
    echo "$name $f $digest"
  done
done
