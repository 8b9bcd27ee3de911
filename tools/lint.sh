#!/usr/bin/env bash
# lint.sh: project checks that the compiler cannot make (`make lint`).
#  - every product .c file includes base/banned.h after its other headers;
#  - no product code uses a banned function (belt and braces for macros
#    that a later #undef could hide);
#  - only the allowed files include each foreign library (STYLE.md §1);
#  - lib/ never includes operator/ headers.
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
[ $fail = 0 ] && echo "lint: ok"
exit $fail
