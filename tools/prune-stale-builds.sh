#!/usr/bin/env bash
# Removes the workspace's own build outputs that a newer build has replaced, from the cargo target
# folders given as arguments (default: ./target).
#
# Why: every change to klient rebuilds its test binaries, examples and rlibs under new hashes, and
# cargo never deletes the old ones. With CI's target folders kept between runs, one day of work left
# 180 copies of the conformance binary (19 GB) and filled the disk until the linker died.
#
# What goes: in each `deps/` and `examples/` folder, an executable, or a file of a klient or
# conformance crate, whose group (same name, same extension) has a file at least WINDOW_HOURS newer.
# The variants one run builds (the conformance binary once per Kubernetes release, say) are built
# within minutes of each other, so they stay. Third-party crates are never touched: several of their
# variants can be in use while built far apart. Removing something still in use only costs a rebuild;
# cargo notices the missing file.
set -euo pipefail
window_hours=${WINDOW_HOURS:-3}
[ $# -gt 0 ] || set -- target
freed=0
for root in "$@"; do
  [ -d "$root" ] || continue
  while IFS= read -r -d '' dir; do
    # "mtime path" for each candidate, then per group keep those within the window of the newest.
    while IFS= read -r path; do
      size=$(stat -c %s "$path")
      rm -f -- "$path"
      freed=$((freed + size))
    done < <(
      find "$dir" -maxdepth 1 -type f -regextype posix-extended \
        -regex '.*/[A-Za-z0-9_]+-[0-9a-f]{16}(\.[a-z]+)?' \( -perm -u+x -o -name 'klient*' \
        -o -name 'libklient*' -o -name 'conformance*' -o -name 'libconformance*' \) -printf '%T@ %p\n' |
        awk -v window=$((window_hours * 3600)) '
          {
            file = $2; n = split(file, parts, "/"); base = parts[n]
            ext = ""; if (match(base, /\.[a-z]+$/)) ext = substr(base, RSTART)
            group = base; sub(/-[0-9a-f]+(\.[a-z]+)?$/, "", group); group = group ext
            t[NR] = $1; f[NR] = file; g[NR] = group
            if (!(group in newest) || $1 > newest[group]) newest[group] = $1
          }
          END { for (i = 1; i <= NR; i++) if (t[i] < newest[g[i]] - window) print f[i] }'
    )
  done < <(find "$root" -maxdepth 4 -type d \( -name deps -o -name examples \) -print0)
done
echo "prune-stale-builds: freed $((freed / 1048576)) MiB in $*" >&2
