#!/usr/bin/env bash
# The core (src/wire, src/core) stays sans-IO: no system calls, no clock, no
# globals, no stdio.  Two mechanical checks keep it so:
#   1. it includes only freestanding C headers, <stdlib.h> (allocation at
#      creation) and project headers;
#   2. the archive imports only mem*/str* helpers, the allocator and abort
#      (sanitizer and stack-protector symbols aside), and defines no writable
#      global data.
# Usage: check-core.sh path/to/libtapir_core.a SOURCE_DIR
set -euo pipefail
archive=$1
src=$2
fail=0

allowed='^(stdint|stddef|stdbool|string|errno|limits|assert|stdarg|stdlib)\.h$'
while IFS= read -r line; do
    file=${line%%:*}
    hdr=$(sed -E 's/.*#include *<([^>]+)>.*/\1/' <<<"$line")
    if ! [[ $hdr =~ $allowed ]]; then
        echo "check-core: $file includes <$hdr>, which the core may not use" >&2
        fail=1
    fi
done < <(grep -HE '^#include *<' "$src"/src/wire/*.[ch] "$src"/src/core/*.[ch] | grep -v '_test\.c:')

imports=$(nm -u "$archive" 2>/dev/null | awk 'NF==2 && $1=="U" {print $2}' | sort -u |
    grep -Ev '^(mem(cpy|set|move|cmp|chr)|str(len|cmp|ncmp|chr)|malloc|calloc|realloc|free|abort)$' |
    grep -Ev '^(__asan_|__ubsan_|__sanitizer_|__sancov_|__stack_chk_fail|__msan_|__tsan_|_GLOBAL_OFFSET_TABLE_)' || true)
# Symbols defined inside the archive are not imports.
defined=$(nm --defined-only "$archive" 2>/dev/null | awk 'NF==3 {print $3}' | sort -u)
for sym in $imports; do
    if ! grep -qx "$sym" <<<"$defined"; then
        echo "check-core: the core calls $sym, which it may not" >&2
        fail=1
    fi
done

# Writable globals: objects in .data* or .bss* sections, sanitizer/coverage data
# (clang names its UBSan descriptors __unnamed_N)
# aside.  Constant tables of pointers land in .data.rel.ro* in position-
# independent code (nm calls them "d"); they are read-only after relocation.
globals=$(objdump -t "$archive" 2>/dev/null | awk '$NF !~ /^\./ {
        for (i = 2; i < NF; i++) if ($i ~ /^\.(data|bss)/) {
            if ($i !~ /^\.data\.rel\.ro/) print $NF; break } }' |
    grep -Ev '^(__asan|__ubsan|__sancov|\.|__odr_asan|___asan|__unnamed_[0-9]+$)' |
    grep -Ev '^\.L' || true)
if [ -n "$globals" ]; then
    echo "check-core: the core defines writable globals: $(echo $globals)" >&2
    fail=1
fi

if [ $fail -eq 0 ]; then
    echo "check-core: ok (includes, imports and globals of $(basename "$archive"))"
fi
exit $fail
