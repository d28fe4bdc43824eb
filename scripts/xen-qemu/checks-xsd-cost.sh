#!/bin/sh
# What one request costs each xenstored in dom0 (a CHECKS file for
# scripts/xen-qemu/run; docs/xenstored.md, "What a ring request costs"):
# Xen's C daemon and swxl's (and XSC_VARIANT, a second swxl binary put in
# dom0 with EXTRA_BINS) take turns; in each turn test-xenstore runs single
# tests over dom0's ring and the socket, and around each run the daemon's
# CPU ticks (/proc/PID/stat), its context switches (/proc/PID/status),
# dom0's CPU (/proc/stat) and the interrupts (event channels) that moved
# are read; with strace in dom0 (EXTRA_BINS=/usr/bin/strace) one more run
# per test counts the daemon's system calls. Then a guest's reads and
# writes over its own ring (xq-xsbench), the same counts around the guest.
#   XSCOST: <daemon> <transport> <test> avg=<ns> min=<ns> iters=<n> utime=<ticks> stime=<ticks>
#           vcs=<voluntary switches> ivcs=<involuntary> cpu=<user system idle of dom0> irq=<name:count,...>
export PATH=/usr/lib/xen-4.17/bin:/usr/bin:/usr/sbin:/bin:/sbin
XSBENCH_ITERS=50
XSD_TURNS=2
XSC_ITERS=${XSC_ITERS:-60}
XSC_TURNS=${XSC_TURNS:-2}
XSC_TESTS=${XSC_TESTS:-"read 1|dir|ta empty|write 1"}
XSC_VARIANT=${XSC_VARIANT:-}
. /xsbench.sh
. /xsd-compare.sh

xsc_pid() { cat /run/xenstore.pid 2>/dev/null; }
# xsc_snap PID: "utime stime vcs ivcs cpu-user cpu-sys cpu-idle" then the interrupt counts
xsc_snap() {
    xs_p=$1
    set -- $(sed 's/^.*) //' /proc/$xs_p/stat)
    xs_u=${12}; xs_s=${13}
    xs_v=$(sed -n 's/^voluntary_ctxt_switches:[ \t]*//p' /proc/$xs_p/status)
    xs_i=$(sed -n 's/^nonvoluntary_ctxt_switches:[ \t]*//p' /proc/$xs_p/status)
    set -- $(head -1 /proc/stat)
    echo "$xs_u $xs_s $xs_v $xs_i $2 $4 $5"
}
xsc_irqs() { awk 'NR>1 { n=0; for (i=2;i<=NF;i++) if ($i ~ /^[0-9]+$/) n+=$i; else break; print $1 $NF, n }' /proc/interrupts; }
xsc_diff_irqs() {  # xsc_diff_irqs BEFORE AFTER: name:delta for those that moved
    awk 'NR==FNR { a[$1]=$2; next } { d=$2-a[$1]; if (d>0) printf "%s%s:%d", (o++?",":""), $1, d } END { print "" }' "$1" "$2"
}

# xsc_use xen|swxl|variant: variant is XSC_VARIANT, a second swxl binary
# put in dom0 with EXTRA_BINS (a build to compare with the harness's)
xsc_use() {
    case $1 in
        variant)
            xsd_stop
            export XENSTORED_ROOTDIR=/run/xenstored
            choom -n -1000 -- $XSC_VARIANT xenstored --pid-file /run/xenstore.pid
            i=0; while ! xenstore-read -s / >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 300 ] && return 1; sleep 0.1; done
            xen-init-dom0 >/dev/null 2>&1 || return 1
            xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid ;;
        *) xsd_use "$1" ;;
    esac
}

# xsc_test DAEMON TRANSPORT TEST
xsc_test() {
    case $2 in socket) p=/run/xenstored/socket ;; ring) p=/dev/xen/xenbus ;; esac
    pid=$(xsc_pid)
    xsc_irqs > /tmp/irq0; s0=$(xsc_snap $pid)
    out=$(XENSTORED_PATH=$p timeout 300 test-xenstore -t "$3" -i $XSC_ITERS 2>&1)
    s1=$(xsc_snap $pid); xsc_irqs > /tmp/irq1
    avg=$(echo "$out" | sed -n 's/.*avg: \([0-9]*\) ns (\([0-9]*\) ns.*/avg=\1 min=\2/p')
    set -- "$1" "$2" "$(echo "$3" | tr ' ' -)" $s0 $s1
    echo "XSCOST: $1 $2 $3 ${avg:-failed:$(echo $out | tail -c 80)} iters=$XSC_ITERS utime=$((${11}-$4)) stime=$((${12}-$5)) vcs=$((${13}-$6)) ivcs=$((${14}-$7)) cpu=$((${15}-$8)),$((${16}-$9)),$((${17}-${10})) irq=$(xsc_diff_irqs /tmp/irq0 /tmp/irq1)"
}

# xsc_strace DAEMON TRANSPORT TEST: the daemon's system calls over one run
xsc_strace() {
    command -v strace >/dev/null || return 0
    case $2 in socket) p=/run/xenstored/socket ;; ring) p=/dev/xen/xenbus ;; esac
    strace -c -f -p "$(xsc_pid)" -o /tmp/strace.out & st=$!
    sleep 1
    XENSTORED_PATH=$p timeout 300 test-xenstore -t "$3" -i $XSC_ITERS >/dev/null 2>&1
    kill -INT $st; wait $st 2>/dev/null
    t=$(echo "$3" | tr ' ' -)
    awk -v d="$1" -v tr="$2" -v t="$t" '$1 ~ /^[0-9.]+$/ && NF >= 5 { printf "XSSTRACE: %s %s %s %s=%s\n", d, tr, t, $NF, $4 }' /tmp/strace.out
}

xsc_guest() {  # xsc_guest DAEMON: xq-xsbench in a guest, counts around it
    pid=$(xsc_pid)
    xsc_irqs > /tmp/irq0; s0=$(xsc_snap $pid)
    XSBENCH_TAG=XSC-GUEST; XSBENCH_GUEST_ROUNDS=5; XSBENCH_GUEST_ITERS=20
    xsbench_guest "$1"
    s1=$(xsc_snap $pid); xsc_irqs > /tmp/irq1
    set -- "$1" $s0 $s1
    echo "XSCOST: $1 guest all utime=$((${9}-$2)) stime=$((${10}-$3)) vcs=$((${11}-$4)) ivcs=$((${12}-$5)) cpu=$((${13}-$6)),$((${14}-$7)),$((${15}-$8)) irq=$(xsc_diff_irqs /tmp/irq0 /tmp/irq1)"
}

daemons="xen swxl"; [ -n "$XSC_VARIANT" ] && daemons="xen swxl variant"
echo "XSC: start load=$(cat /proc/loadavg)"
# What a system call, a clock read, rdtsc and a page's soft-TLB refill cost
# here: xq-tcgcost.c, built by hand (gcc -O2 -static -o /opt/xq/tcgcost
# scripts/xen-qemu/xq-tcgcost.c) and put in dom0 with EXTRA_BINS.
[ -x /opt/xq/tcgcost ] && /opt/xq/tcgcost
echo "XSC: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource); $(grep -o 'constant_tsc\|nonstop_tsc\|tsc_reliable\|pcid' /proc/cpuinfo | sort -u | tr '\n' ' ')"
r=1
while [ $r -le $XSC_TURNS ]; do
    order=$daemons; [ $((r % 2)) = 0 ] && order=$(echo $daemons | awk '{ for (i=NF;i>0;i--) printf "%s ", $i }')
    for d in $order; do
        xsc_use $d || { echo "XSC: $d did not start"; continue; }
        sleep 1
        echo "XSC: turn $r $d pid=$(xsc_pid)"
        IFS='|'; set -- $XSC_TESTS; unset IFS
        for t in "$@"; do xsc_test $d ring "$t"; done
        for t in "$@"; do xsc_test $d socket "$t"; done
        if [ $r = 1 ]; then for t in "$@"; do xsc_strace $d ring "$t"; done; fi
        xsc_guest $d
    done
    r=$((r+1))
done
xsd_stop
echo "XSC: done"
