#!/bin/sh
# A CHECKS file for the harness (CHECKS=scripts/xen-qemu/checks-save-focus.sh
# scripts/xen-qemu/run): one boot, save and restore alone, to measure them
# without the whole run (~27 min). Xen's services as checks.sh starts them,
# the helpers checks-save.sh needs (copied from checks.sh), the groups of
# save checks that prove what a restore guarantees (SAVE_CHECKS: the guest
# counts on after swxl's and xl's saves, a failed restore leaves nothing, a
# guest with devices comes back), then the save benchmark at 128 MiB
# (SAVE_BENCH_SIZES, SAVE_BENCH_ROUNDS: two rounds a tool and one more, as
# the whole run does). About 6 minutes of QEMU.
export PATH=/usr/lib/xen-4.17/bin:/usr/bin:/usr/sbin:/bin:/sbin
CFG=/etc/xen/guest.cfg
CONLOG=/var/log/xen/console
MARKER=GUEST_MARKER_DONE
MARKER_TIMEOUT_MS=90000
XQ_SFX=
SAVE_CHECKS="swxl xl devices"
SAVE_BENCH_SIZES=128
SAVE_BENCH_ROUNDS=2

res()  { r_v=$1; r_n=$2; shift 2; echo "RESULT: $r_v $r_n$XQ_SFX${*:+ $*}"; }
pass() { res PASS "$@"; }
fail() { res FAIL "$@"; }
todo() { res TODO "$@"; }
quiet_begin() { :; }   # (checks.sh's: a benchmark's span, for the run's two boots at once)
quiet_end() { :; }
. /budget.sh   # bench_fits (no deadline in a CHECKS run but the one XQ_DEADLINE gives)
now()  { xq-tools now; }
check() {
    n=$1; shift
    if out=$("$@" 2>&1); then pass "$n"; else fail "$n" "rc=$? $(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}
has_swxl() {
    case $# in
        1) swxl --help 2>/dev/null | grep -qE "^ +$1( |\$)" ;;
        2) swxl $1 --help 2>/dev/null | grep -qE "^ +$2( |\$)" ;;
    esac
}
domid_of() {
    for d in $(xenstore-list /local/domain 2>/dev/null); do
        [ "$(xenstore-read /local/domain/$d/name 2>/dev/null)" = "$1" ] && { echo $d; return 0; }
    done
    return 1
}
domain_count() { cxen-probe list | wc -l; }
wait_gone() {
    i=0
    while cxen-probe list | grep -q "^$1 "; do
        i=$((i+1)); [ $i -gt 100 ] && return 1; sleep 0.05
    done
}
DEVCFG=/etc/xen/guest-dev.cfg
DISK1=XQ-DISK-ONE
mk_disk() {
    dd if=/dev/zero of=$1 bs=1024 count=1024 2>/dev/null
    echo "$2" | dd of=$1 conv=notrunc 2>/dev/null
}
mkdir -p /srv/xq
mk_disk /srv/xq/disk1.img $DISK1
host_devices() {
    echo "domains=$(domain_count) loops=$(losetup -a | wc -l)" \
         "vifs=$(ls /sys/class/net | grep -c '^vif')" \
         "backends=$(for t in vbd vif; do for d in $(xenstore-list /local/domain/0/backend/$t 2>/dev/null); do
                         echo $t/$d; done; done | tr '\n' ',')" \
         "evtchns=$(grep -c xen-dyn /proc/interrupts)" \
         "vms=$(xenstore-list /vm 2>/dev/null | wc -l) libxl=$(xenstore-list /libxl 2>/dev/null | wc -l)"
}
settle() {
    i=0
    while cxen-probe list | grep -qE ' [-a-z]{5}d$'; do
        i=$((i+1)); [ $i -gt 100 ] && break; sleep 0.05
    done
    cxen-probe wait-scrub
}
hotplug_log() {
    tail -15 /var/log/xen/xen-hotplug.log 2>/dev/null | sed 's/^/HOTPLUG-LOG: /'
    grep -E 'block|vif' /var/log/messages 2>/dev/null | tail -15 | sed 's/^/SYSLOG: /'
}
console_has() { xq-tools wait $CONLOG/guest-$1.log "$2" ${3:-30000} >/dev/null; }
console_tail() { tail -8 $CONLOG/guest-$1.log 2>/dev/null | tr -d '\r' | tr '\n' '|'; }
leaves_nothing() {
    n=$1; c=$2; b=$3; note=${4:+$4; }; t=$(now)
    settle
    a=$(host_devices); i=0
    while [ "$a" != "$b" ] && [ $i -lt 100 ]; do sleep 0.1; a=$(host_devices); i=$((i+1)); done
    if [ "$a" = "$b" ] && ! domid_of $n >/dev/null && ! ip link show | grep -q ': vif'; then
        pass $c "${note}$a (settled after $(( $(now) - t )) ms)"
    else
        fail $c "${note}before: $b; after: $a; domid: $(domid_of $n);" \
            "domains: $(cxen-probe list | tr '\n' ' '); in xenstore: $(xenstore-list /local/domain | tr '\n' ' ')"
    fi
}

# Xen's own services, as checks.sh starts them in the first boot
export XENSTORED_ROOTDIR=/run/xenstored
xenstored --pid-file /run/xenstore.pid
i=0
while ! xenstore-read -s / >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 100 ] && break; sleep 0.1; done
check xenstored xenstore-read -s /
check xen-init-dom0 xen-init-dom0
check xenconsoled xenconsoled --log=guest --log-dir=$CONLOG --pid-file=/run/xenconsoled.pid
echo "DOM0_READY uptime=$(cut -d' ' -f1 /proc/uptime)"

# (the devices check: swxl runs the hotplug scripts; a failure shows as FAIL)
swxl_hotplug=1
. /checks-save.sh
