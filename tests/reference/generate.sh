#!/usr/bin/env bash
# Prints the digests of every reference case (cases.txt) as run by the trajectoire binary given
# as the first argument: `case file sha256`, one line per data file. Run from the repository's
# root, e.g. `tests/reference/generate.sh ../ref050/target/release/trajectoire`.
# A case's commands are separated by ` ; `; what they print is the case's `stdout`. Normalised
# as tests/reference.rs does: lines whose key is "wall_seconds" or "seconds" (times), and the
# program's version wherever it appears, and the case's output folder (written OUT).
set -euo pipefail
bin=$(realpath "$1")
version=$("$bin" --version | awk '{print $2}')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
normalise() {
  sed -E 's/^( *"wall_seconds": ).*$/\1W/; s/^( *"seconds": ).*$/\1W/; s/^( *"trajectoire_version": ).*$/\1V/' "$1" \
    | sed "s/${version//./\\.}/V/g; s|$2|OUT|g"
}
grep -v '^#' tests/reference/cases.txt | while IFS='|' read -r name args; do
  name=$(echo "$name" | xargs)
  out="$work/$name"
  mkdir -p "$out"
  stdout="$work/$name.stdout"
  : > "$stdout"
  while IFS= read -r command; do
    eval "\"$bin\" ${command//OUT/\"$out\"}" >> "$stdout" || true
  done < <(echo "$args" | sed 's/ ; /\n/g')
  for f in $(cd "$out" && ls | sort); do
    case "$f" in
      *.csv|*.json|*.html) digest=$(normalise "$out/$f" "$out" | sha256sum | cut -d' ' -f1) ;;
      *) continue ;;
    esac
    echo "$name $f $digest"
  done
  if [ -s "$stdout" ]; then
    echo "$name stdout $(normalise "$stdout" "$out" | sha256sum | cut -d' ' -f1)"
  fi
done
