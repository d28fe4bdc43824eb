#!/bin/sh
# A CHECKS file for the harness (CHECKS=scripts/xen-qemu/checks-guest-poll.sh
# scripts/xen-qemu/run): the guest's xenstored figures alone, to tune the
# poll of guests' rings (docs/perf.md, "The poll"). One boot; GP_TURNS
# turns, in each Xen's C daemon and then swxl's with each --guest-poll-us
# of GP_SETTINGS serve dom0 (both set below: dom0 does not see the host's
# environment), and a
# guest measures its reads and writes over its ring (xsbench_guest: 50
# requests a test, three rounds), as XSBENCH: lines named xen and
# swxl-<setting>; swxl's daemon runs in the foreground with its log kept,
# so that the poll's own counts at exit come out too:
#   GP-COUNTS swxl-<setting> ... guest poll: W windows opened, F requests (or room for output) found by it, ...
# About 4 minutes of QEMU with the defaults. The figures: medians of the
# rounds' averages per setting, as ratios to xen's (not asserted).
export PATH=/usr/lib/xen-4.17/bin:/usr/bin:/usr/sbin:/bin:/sbin
XSBENCH_ITERS=50
. /xsbench.sh
. /xsd-compare.sh
XSBENCH_GUEST_ROUNDS=3
GP_TURNS=3
GP_SETTINGS="5000 2000 0"
gp_swxl() {  # gp_swxl ARG...: swxl's daemon in the foreground, its log in /tmp/gp.log
    xsd_stop
    export XENSTORED_ROOTDIR=/run/xenstored
    swxl xenstored --no-fork --log-level info --pid-file /run/xenstore.pid "$@" >/tmp/gp.log 2>&1 &
    i=0; while ! xenstore-read -s / >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 300 ] && return 1; sleep 0.1; done
    xen-init-dom0 >/dev/null 2>&1 || return 1
    xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid
}
for turn in $(seq $GP_TURNS); do
    for v in xen $(for s in $GP_SETTINGS; do echo swxl-$s; done); do
        case $v in
            xen) xsd_use xen ;;
            swxl-*) gp_swxl --guest-poll-us "${v#swxl-}" ;;
        esac || { echo "RESULT: FAIL guest-poll-$v cannot start"; continue; }
        xsbench_guest $v || echo "RESULT: FAIL guest-poll-$v the guest's figures"
        xsd_stop
        case $v in swxl-*) grep "guest poll" /tmp/gp.log | sed "s/^/GP-COUNTS $v /" ;; esac
    done
done
echo "RESULT: PASS guest-poll-ran $GP_TURNS turns"
echo CHECKS_COMPLETE checks-guest-poll.sh
