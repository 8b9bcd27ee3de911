#!/bin/bash
# mktree.sh: create a bare repository NAME.git under the test git root
# whose one commit on main has a tree no checkout of a directory could
# produce (git plumbing: mktree, commit-tree); prints the commit's sha.
# For tests of what a fetcher does with hostile or unusual trees.
#
#   bash test/cluster/mktree.sh NAME KIND [ARGS]
#
# KIND:
#   dotdot     a directory named ".." holding a file, beside ok.txt
#   dotgit     a directory named ".GIT" holding a file, beside ok.txt
#   abslink    a symlink passwd -> /etc/passwd, beside ok.txt
#   uplink     a symlink a/esc -> ../../etc (climbs above the root)
#   inlink     a symlink a/in -> ../ok.txt (stays inside), beside ok.txt
#   big SIZE   one file big.bin of SIZE zero bytes (truncate(1) syntax: 2G)
#   many N M   N directories of M files each (one shared subtree: the
#              pack stays tiny whatever N*M is)
#   submodule SUBNAME PATH URL
#              ok.txt, a .gitmodules naming URL for PATH, and PATH as a
#              gitlink to the head of SUBNAME.git's main
# An existing NAME.git is replaced.  Author, committer and date are fixed.
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: mktree.sh NAME KIND [ARGS]"
name=$1 kind=$2
shift 2
root=${GIT_ROOT:-$CLUSTER_DIR/servers/git}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="cflux test" GIT_AUTHOR_EMAIL=test@cflux.invalid
export GIT_COMMITTER_NAME="cflux test" GIT_COMMITTER_EMAIL=test@cflux.invalid
export GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
export GIT_DIR=$root/$name.git
rm -rf "$GIT_DIR"
git init -q --bare --initial-branch=main "$GIT_DIR"
git config uploadpack.allowAnySHA1InWant true

blob() { printf '%s' "$1" | git hash-object -w --stdin; }
ok=$(blob "ok")
tab=$(printf '\t')
case $kind in
dotdot | dotgit)
	dir=..
	[ "$kind" = dotgit ] && dir=.GIT
	sub=$(printf '100644 blob %s\tx\n' "$ok" | git mktree)
	tree=$(printf '040000 tree %s\t%s\n100644 blob %s\tok.txt\n' "$sub" "$dir" "$ok" | git mktree)
	;;
abslink)
	tree=$(printf '120000 blob %s\tpasswd\n100644 blob %s\tok.txt\n' "$(blob /etc/passwd)" "$ok" |
		git mktree)
	;;
uplink | inlink)
	if [ "$kind" = uplink ]; then
		sub=$(printf '120000 blob %s\tesc\n' "$(blob ../../etc)" | git mktree)
	else
		sub=$(printf '120000 blob %s\tin\n' "$(blob ../ok.txt)" | git mktree)
	fi
	tree=$(printf '040000 tree %s\ta\n100644 blob %s\tok.txt\n' "$sub" "$ok" | git mktree)
	;;
big)
	tmp=$(mktemp -d)
	truncate -s "$1" "$tmp/big.bin"
	# Over core.bigFileThreshold git streams the file into a pack.
	b=$(git hash-object -w "$tmp/big.bin")
	rm -rf "$tmp"
	tree=$(printf '100644 blob %s\tbig.bin\n' "$b" | git mktree)
	;;
many)
	sub=$(for i in $(seq 1 "$2"); do echo "100644 blob $ok${tab}f$i"; done | git mktree)
	tree=$(for i in $(seq 1 "$1"); do echo "040000 tree $sub${tab}d$i"; done | git mktree)
	;;
submodule)
	subname=$1 path=$2 url=$3
	head=$(git --git-dir="$root/$subname.git" rev-parse refs/heads/main)
	gm=$(blob "[submodule \"$path\"]
	path = $path
	url = $url
")
	# git mktree wants entries of a directory only: PATH is one component.
	tree=$(printf '100644 blob %s\t.gitmodules\n160000 commit %s\t%s\n100644 blob %s\tok.txt\n' \
		"$gm" "$head" "$path" "$ok" | git mktree --missing)
	;;
*) die "unknown kind '$kind'" ;;
esac
commit=$(echo "$kind" | git commit-tree "$tree")
git update-ref refs/heads/main "$commit"
echo "$commit"
