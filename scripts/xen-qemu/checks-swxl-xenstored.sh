#!/bin/sh
# The harness's second boot (issue 14, not yet run by scripts/test): dom0
# runs `swxl xenstored` instead of Xen's C xenstored. Run it with
#   CHECKS=scripts/xen-qemu/checks-swxl-xenstored.sh scripts/xen-qemu/run
# Every check prints RESULT: PASS|FAIL|TODO <name> [detail]; TODO: not built yet.
export PATH=/usr/lib/xen-4.17/bin:/usr/bin:/usr/sbin:/bin:/sbin
res()  { echo "RESULT: $*"; }
pass() { res PASS "$@"; }
fail() { res FAIL "$@"; }
todo() { res TODO "$@"; }
check() {
    n=$1; shift
    if out=$("$@" 2>&1); then pass "$n"; else fail "$n" "rc=$? $(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}

# As Debian's /etc/init.d/xen starts a xenstored: it must fork, write the
# pid file and answer within 30 s.
export XENSTORED_ROOTDIR=/run/xenstored
check swxl-xenstored-start swxl xenstored --pid-file /run/xenstore.pid
i=0
while ! xenstore-read -s / >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 300 ] && break; sleep 0.1; done
check swxl-xenstored-socket xenstore-read -s /
[ -s /run/xenstore.pid ] && kill -0 "$(cat /run/xenstore.pid)" && pass swxl-xenstored-pidfile || fail swxl-xenstored-pidfile "$(cat /run/xenstore.pid 2>&1)"
out=$(xenstore-ls / 2>&1)
[ "$out" = "$(printf 'tool = ""\n xenstored = ""')" ] && pass swxl-xenstored-fresh-tree || fail swxl-xenstored-fresh-tree "$out"

# Dom0's own ring through the dom0 kernel (/dev/xen/xenbus): a value of
# 3000 bytes crosses the 1 KiB rings in pieces and wraps them.
big=$(head -c 3000 /dev/zero | tr '\0' 'r')
if XENSTORED_PATH=/dev/xen/xenbus timeout 20 xenstore-write /ring/big "$big" 2>/tmp/ring.err &&
   [ "$(XENSTORED_PATH=/dev/xen/xenbus timeout 20 xenstore-read /ring/big)" = "$big" ] &&
   [ "$(xenstore-read /ring/big)" = "$big" ]; then
    pass swxl-xenstored-dom0-ring
else
    fail swxl-xenstored-dom0-ring "$(cat /tmp/ring.err)"
fi
# The kernel's xenbus probe ran (started by the daemon's first notification):
# its backend watch and the balloon's are set on dom0's ring.
todo swxl-xenstored-kernel-probe "CONTROL has no command listing a connection's watches yet"

check xen-init-dom0 xen-init-dom0
check xenconsoled xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid
todo swxl-xenstored-xl-create "guests' rings (INTRODUCE: grant map, interdomain event channel) not built yet"
todo swxl-xenstored-swxl-create "guests' rings not built yet"
todo swxl-xenstored-guest-write "guests' rings not built yet"
todo swxl-xenstored-no-zombies "VIRQ_DOM_EXC handling not built yet"
todo swxl-xenstored-ten-cycles "VIRQ_DOM_EXC handling not built yet"
