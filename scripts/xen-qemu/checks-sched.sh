# vCPU affinity and the credit schedulers, sourced near the end of
# checks.sh (its helpers and variables). A guest made by swxl with `cpus`,
# `cpu_weight` and `cap` in its config: what the hypervisor reports for it
# through xl (vcpu-list, sched-credit2 -d) against swxl's output for the
# same; swxl vcpu-pin then xl vcpu-list; xl vcpu-pin then swxl vcpu-list;
# and xl's and swxl's whole sched-credit and sched-credit2 output. The
# host has 2 pCPUs (QEMU -smp 2), dom0 1 vCPU, and Xen 4.17's default
# scheduler, credit2 (so sched-credit's answers are its refusals).
# Every check here has passed on real Xen (21 of 21): a mismatch is a
# FAIL; a new check starts as `same -t` (TODO on a mismatch) until it has.
# libxl's log lines name its source (`libxl: error: libxl_sched.c:445:f:
# Domain 3:`) where swxl says `swxl: error: `: both are cut to the message.
unlog() { sed -E 's/^libxl: error: [^ ]+: (Domain [0-9]+:)?//; s/^swxl: error: //'; }
# same [-t] NAME ARGS...: PASS when swxl and xl print the same on stdout and
# on stderr (each whole) and exit alike; -t: TODO on a mismatch, not FAIL
same() {
    verdict=fail; [ "$1" = -t ] && { verdict=todo; shift; }
    n=$1; shift
    swxl "$@" >/tmp/sched.s.out 2>/tmp/sched.s.err; s_rc=$?
    xl "$@" >/tmp/sched.x.out 2>/tmp/sched.x.err; x_rc=$?
    if [ "$s_rc" = "$x_rc" ] && cmp -s /tmp/sched.s.out /tmp/sched.x.out \
            && [ "$(unlog </tmp/sched.s.err)" = "$(unlog </tmp/sched.x.err)" ]; then
        pass "$n" "rc=$s_rc"
    else
        $verdict "$n" "swxl rc=$s_rc: $(cat /tmp/sched.s.out /tmp/sched.s.err | tr '\n' '|' | cut -c1-400) / xl rc=$x_rc: $(cat /tmp/sched.x.out /tmp/sched.x.err | tr '\n' '|' | cut -c1-400)"
    fi
}
# expect NAME WANT GOT: PASS when equal
expect() {
    if [ "$2" = "$3" ]; then pass "$1" "$3"; else fail "$1" "want '$2', got '$3'"; fi
}
if has_swxl vcpu-pin && has_swxl sched-credit2 && has_swxl vcpu-list; then
    cxen-probe wait-scrub
    # Paused: the vCPUs' CPU time stays as it is between swxl's and xl's listing.
    if swxl create -q -p $CFG 'name="schedguest"' 'vcpus=2' 'cpus="1"' 'cpu_weight=512' 'cap=50' >/tmp/sched.out 2>&1; then
        same sched-vcpu-list-as-xl vcpu-list schedguest
        expect sched-config-hard-affinity "1 / all|1 / all" \
            "$(xl vcpu-list schedguest | tail -n +2 | sed 's/.*  //' | tr '\n' '|' | sed 's/|$//')"
        same sched-credit2-domain-as-xl sched-credit2 -d schedguest
        expect sched-config-weight-cap "512 50" "$(xl sched-credit2 -d schedguest | tail -1 | awk '{print $3, $4}')"
        same sched-credit-domain-as-xl sched-credit -d schedguest
        same sched-credit2-as-xl sched-credit2
        same sched-credit2-pool-as-xl sched-credit2 -s
        same sched-credit-as-xl sched-credit
        swxl vcpu-pin schedguest 0 0 - >/tmp/sched.out 2>&1
        expect sched-swxl-vcpu-pin-seen-by-xl "0 / all" "$(xl vcpu-list schedguest | sed -n 2p | sed 's/.*  //')"
        xl vcpu-pin schedguest 1 all 0 >/tmp/sched.out 2>&1
        same sched-xl-vcpu-pin-as-xl vcpu-list schedguest
        expect sched-xl-vcpu-pin-seen-by-swxl "all / 0" "$(swxl vcpu-list schedguest | sed -n 3p | sed 's/.*  //')"
        swxl sched-credit2 -d schedguest -w 300 -c 20 >/tmp/sched.out 2>&1
        expect sched-swxl-weight-seen-by-xl "300 20" "$(xl sched-credit2 -d schedguest | tail -1 | awk '{print $3, $4}')"
        same sched-weight-out-of-range-as-xl sched-credit2 -d schedguest -w 70000
        same sched-vcpu-pin-bad-vcpu-as-xl vcpu-pin schedguest x 1
        same sched-vcpu-pin-bad-range-as-xl vcpu-pin schedguest 0 1-a
        same sched-vcpu-pin-beyond-host-as-xl vcpu-pin schedguest 0 5
        same sched-vcpu-pin-dryrun-as-xl -N vcpu-pin schedguest 0 1,^1 all
        same sched-credit-set-on-credit2-as-xl sched-credit -d schedguest -w 10
        same sched-credit-pool-on-credit2-as-xl sched-credit -s
        same sched-credit2-cap-out-of-range-as-xl sched-credit2 -d schedguest -c 201
        same sched-vcpu-list-after-refusals-as-xl vcpu-list schedguest
        swxl destroy schedguest
    else
        fail sched-vcpu-list-as-xl "create failed: $(tail -3 /tmp/sched.out | tr '\n' ' ')"
    fi
    d=$(domid_of schedguest); [ -n "$d" ] && { swxl destroy schedguest || cxen-probe destroy $d; wait_gone $d; }
else
    todo sched-vcpu-list-as-xl "no 'swxl vcpu-pin' / 'sched-credit2' yet"
fi
