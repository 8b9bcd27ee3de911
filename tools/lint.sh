#!/usr/bin/env bash
# lint.sh: project checks that the compiler cannot make (`make lint`).
#  - every product .c file includes base/banned.h after its other headers;
#  - no product code uses a banned function (belt and braces for macros
#    that a later #undef could hide);
#  - only the allowed files include each foreign library (STYLE.md §1);
#  - lib/ never includes operator/ headers;
#  - lib modules depend downwards only (the ranks below), and a module's
#    internal.h is its own.
set -u
cd "$(dirname "$0")/.."
fail=0
bad() { echo "lint: $*"; fail=1; }

for f in $(git ls-files 'lib/*.c' 'operator/*.c' 'cli/*.c'); do
	last=$(grep -n '^#include' "$f" | tail -n 1)
	case $last in
	*'"base/banned.h"'*) ;;
	*) bad "$f: base/banned.h must be the last #include" ;;
	esac
done
git grep -nE '\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|strtok|strtok_r|gmtime|localtime|ctime|asctime|mktemp|atoi|atol|atoll)\s*\(' \
	-- 'lib/*.c' 'operator/*.c' 'cli/*.c' | grep -v 'banned.h' && bad "banned function used (see lib/base/banned.h)"
only() { # header, allowed path regexp
	local hits
	hits=$(git grep -l "#include <$1" -- 'lib/*' 'operator/*' | grep -vE "$2")
	[ -z "$hits" ] || bad "<$1> may only be included by $2: $hits"
}
only curl/ '^lib/kube/http\.c$'
only git2 '^lib/source/git\.c$'
only yaml.h '^lib/yj/'
only expat '^lib/source/xml\.c$'
git grep -nE '#include "(\.\./)*operator/' -- 'lib/*' && bad "lib/ must not include operator/"

# operator -> lib/helm -> lib/{apply,kustomize,source} -> lib/{kube,tmpl} -> lib/yj -> lib/base.
# A module may use modules of a lower rank only: peers stay independent.
declare -A rank=([base]=0 [yj]=1 [kube]=2 [tmpl]=2 [source]=3 [kustomize]=3 [apply]=3 [helm]=4)
while IFS=: read -r file _ inc; do
	from=${file#lib/}
	from=${from%%/*}
	to=$(sed -E 's/.*#include "([a-z]+)\/.*/\1/' <<<"$inc")
	[ "$from" = "$to" ] && continue
	if [ -z "${rank[$from]:-}" ] || [ -z "${rank[$to]:-}" ]; then
		bad "$file: lib/$from or lib/$to has no rank in tools/lint.sh"
	elif [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
		bad "$file: lib/$from may not use lib/$to (dependencies point down)"
	fi
	case $inc in *'/internal.h"'*) bad "$file: $to/internal.h is private to lib/$to" ;; esac
done < <(git grep -nE '^#include "[a-z]+/' -- 'lib/*.c' 'lib/*.h')
[ $fail = 0 ] && echo "lint: ok"
exit $fail
