#!/bin/bash
# mkrepo.sh: create (or update) a bare repository NAME.git under the test git
# root from the files in DIR, as one new commit on BRANCH; prints its sha.
#
#   bash test/cluster/mkrepo.sh NAME DIR [BRANCH]        (BRANCH default: main)
#
# The git root is $GIT_ROOT (servers.env), else $CFLUX_CLUSTER_DIR/servers/git.
# The commit's tree is exactly DIR's files (DIR needs no .git and is not
# modified; files removed from DIR are removed in the commit).  Author and
# committer are fixed ("cflux test <test@cflux.invalid>") and the date is
# 2026-01-01T00:00:00Z plus N seconds, N = commits already on BRANCH, so
# the same sequence of calls always yields the same shas.  Message:
# $MKREPO_MESSAGE, default "NAME: update N".  Served at once over HTTP(S),
# git:// and SSH (servers.sh).  With $MKREPO_SIGNKEY the commit is signed:
# an OpenPGP key id (gpg, $GNUPGHOME) or, with MKREPO_SIGNFORMAT=ssh, the
# path of an SSH private key (then the sha depends on the signature).
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: mkrepo.sh NAME DIR [BRANCH]"
name=$1 src=$2 branch=${3:-main}
[ -d "$src" ] || die "$src: not a directory"
case "$name" in */* | .* | "") die "bad repository name '$name'" ;; esac
root=${GIT_ROOT:-$CLUSTER_DIR/servers/git}
mkdir -p "$root"
bare=$root/${name%.git}.git

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="cflux test" GIT_AUTHOR_EMAIL=test@cflux.invalid
export GIT_COMMITTER_NAME="cflux test" GIT_COMMITTER_EMAIL=test@cflux.invalid
g() { git --git-dir="$bare" "$@"; }

if [ ! -d "$bare" ]; then
	git init -q --bare --initial-branch="$branch" "$bare"
	g config core.sharedRepository false
	g config receive.denyNonFastForwards false
	g config uploadpack.allowAnySHA1InWant true
fi

parent=$(g rev-parse -q --verify "refs/heads/$branch^{commit}" 2>/dev/null || true)
n=0
[ -n "$parent" ] && n=$(g rev-list --count "$parent")
export GIT_AUTHOR_DATE="@$((1767225600 + n)) +0000" GIT_COMMITTER_DATE="@$((1767225600 + n)) +0000"

idx=$bare/mkrepo-index.$$
trap 'rm -f "$idx"' EXIT
GIT_INDEX_FILE=$idx git --git-dir="$bare" --work-tree="$src" -c core.autocrlf=false add -A -f .
tree=$(GIT_INDEX_FILE=$idx g write-tree)
msg=${MKREPO_MESSAGE:-"$name: update $n"}
sign=() parents=()
if [ -n "${MKREPO_SIGNKEY:-}" ]; then
	sign=(-c "gpg.format=${MKREPO_SIGNFORMAT:-openpgp}" -c "user.signingKey=$MKREPO_SIGNKEY")
fi
[ -n "$parent" ] && parents=(-p "$parent")
sha=$(printf '%s\n' "$msg" | git "${sign[@]}" --git-dir="$bare" commit-tree \
	${MKREPO_SIGNKEY:+-S} "$tree" "${parents[@]}")
g update-ref "refs/heads/$branch" "$sha"
# The first branch created becomes HEAD (the default branch of clones).
[ -n "$(g for-each-ref --count=2 refs/heads | sed -n 2p)" ] || g symbolic-ref HEAD "refs/heads/$branch"
echo "$sha"
