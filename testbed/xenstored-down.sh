#!/bin/sh
# xenstored-down.sh [DIR]  --  stop a daemon started by xenstored-up.sh and remove its dir.
#
# DIR defaults to $XLCHANNEL_TESTBED_DIR, so after `eval "$(xenstored-up.sh)"` a plain
# `trap 'testbed/xenstored-down.sh' EXIT` cleans up however the tests end. Safe to run
# twice or with nothing to do (exit 0). Exit 3 if the daemon had died before we stopped
# it (a crash during the tests is worth failing for); its log is printed then.
set -u

dir=${1:-${XLCHANNEL_TESTBED_DIR:-}}
[ -n "$dir" ] && [ -d "$dir" ] || exit 0
if [ ! -e "$dir/.xlchannel-testbed" ]; then
    echo "xenstored-down: $dir was not made by xenstored-up.sh; leaving it alone" >&2
    exit 1
fi

# Alive and really our daemon? Its command line names $dir (-F $dir/xenstored.pid), so a
# recycled pid is never killed. Zombies (no reaping init in some containers) count as dead.
ours() {
    [ -r "/proc/$1/cmdline" ] || return 1
    case "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" in Z|X|"") return 1 ;; esac
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$dir/xenstored.pid"
}

status=0
pid=$(cat "$dir/daemon.pid" 2>/dev/null || true)
if [ -n "$pid" ]; then
    if ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        i=50
        while ours "$pid" && [ "$i" -gt 0 ]; do sleep 0.1; i=$((i - 1)); done
        if ours "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
    else
        echo "xenstored-down: xenstored (pid $pid) was no longer running; its log:" >&2
        cat "$dir/xenstored.log" >&2 2>/dev/null
        status=3
    fi
fi
rm -rf -- "$dir"
exit "$status"
