#!/bin/sh
# git-ssh-shell.sh: forced command of the test sshd (servers.sh puts it in
# authorized_keys as `command="git-ssh-shell.sh GITROOT"`).  Runs only
# git-upload-pack, git-receive-pack or git-upload-archive, on a repository
# under GITROOT: ssh://root@127.0.0.1:PORT/NAME.git -> GITROOT/NAME.git.
set -eu
root=$1
cmd=${SSH_ORIGINAL_COMMAND:-}
verb=${cmd%% *}
arg=${cmd#* }
case "$verb" in
git-upload-pack | git-receive-pack | git-upload-archive) ;;
*) echo "git-ssh-shell: only git fetch/push is allowed here" >&2; exit 1 ;;
esac
# strip the quotes git adds around the path
arg=${arg#\'}
arg=${arg%\'}
arg=${arg#/}
arg=${arg#\~/}
case "/$arg/" in
*/../* | //) echo "git-ssh-shell: bad repository path" >&2; exit 1 ;;
esac
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
exec git "${verb#git-}" "$root/$arg"
