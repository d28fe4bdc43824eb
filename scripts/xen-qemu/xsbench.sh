# The xenstored figures (issue 14 item 7), sourced by checks.sh (Xen's C
# daemon) and checks-swxl-xenstored.sh (swxl's) in dom0: Xen's
# test-xenstore -i $XSBENCH_ITERS over the daemon's socket and over dom0's
# ring (/dev/xen/xenbus: the dom0 kernel's xenbus), one line per test
#   XSBENCH: <daemon> socket|ring <test> <average ns> <fastest ns>   (or: failed)
# (under TCG a stall of the host moves a round's average by milliseconds:
# so XSBENCH_ROUNDS short rounds, default 10, socket and ring in turn, of
# which the run script prints the median average and the fastest run; a
# stall spoils a round or two, not the median of ten)
# (the run script prints them side by side; never asserted). Returns 1 if
# test-xenstore failed (a wrong answer, not a slow one).
# (XSBENCH_TAG: the lines' tag instead of XSBENCH, as xsd-compare.sh's
# XSBENCH-TURNS, which the run script puts in a table of their own)
# (XSBENCH_LOCKSTEP=1: each round is a span of its own that the harness's
# two boots take in lockstep, one after the other (boots.py: A B, B A, ...),
# so that the figures compared boot against boot come from the same
# minutes of the host; the caller then has no quiet span of its own around
# these, and says XQ_LOCKSTEP_END when it is done with them, failed or not)
XSBENCH_TAG=${XSBENCH_TAG:-XSBENCH}
# xsb_span begin|end NAME: a round's lockstep span, if XSBENCH_LOCKSTEP=1
# (boots.py pauses this boot at the BEGIN until the other boot is at the
# same round; the half second is its time to do so)
xsb_span() {
    [ "${XSBENCH_LOCKSTEP:-0}" = 1 ] || return 0
    case $1 in
        begin) echo "XQ_QUIET_BEGIN $2 lockstep"; sleep 0.5 ;;
        end) echo "XQ_QUIET_END $2" ;;
    esac
}
xsbench() {  # xsbench DAEMON
    [ "${XSBENCH_ITERS:-0}" -gt 0 ] || return 0
    xsb_rc=0
    # Several rounds, each printed: the run script takes the median of their
    # averages (one stalled round under TCG moves an average by milliseconds).
    for xsb_round in $(seq "${XSBENCH_ROUNDS:-10}"); do
    xsb_span begin xsbench-$xsb_round
    for xsb_t in socket ring; do
        case $xsb_t in socket) xsb_p=/run/xenstored/socket ;; ring) xsb_p=/dev/xen/xenbus ;; esac
        xsb_ok=1
        XENSTORED_PATH=$xsb_p timeout 300 test-xenstore -i "$XSBENCH_ITERS" > /tmp/xsbench.out 2>&1 || { xsb_ok=0; xsb_rc=1; }
        # "read 2000 : avg: 123 ns (...)", "ta err    : failed (ret = 5, stage run)"
        # -> "$XSBENCH_TAG: $1 $xsb_t read-2000 123 ...": in one sed (the
        # spaces of a name made dashes by the loop at :name), as a pipe and
        # a subshell per line cost ~0.35 s per run of test-xenstore under TCG
        sed -n -e 's/^\([a-z][a-z0-9 ]*[a-z0-9]\) *: avg: \([0-9]*\) ns (\([0-9]*\) ns.*/\1:\2 \3/' \
               -e 's/^\([a-z][a-z0-9 ]*[a-z0-9]\) *: failed.*/\1:failed/' -e 't name' -e 'd' \
               -e ':name' -e 's/^\([^ :]*\) \([^:]*:\)/\1-\2/' -e 't name' \
               -e "s/^\([^:]*\):/$XSBENCH_TAG: $1 $xsb_t \1 /p" /tmp/xsbench.out
        [ $xsb_ok = 1 ] || { echo "XSBENCH-OUTPUT ($xsb_t):"; tail -5 /tmp/xsbench.out; }
    done
    xsb_span end xsbench-$xsb_round
    done
    return $xsb_rc
}

# The same from inside a guest (xq-xsbench in its initrd, run by guest-init
# before its marker: reads and writes of 1 and 2000 bytes through
# libxenstore over the guest's own ring, timed in the guest), one line per
# test and round (XSBENCH_GUEST_ROUNDS rounds, default 3, in the one guest:
# the run script takes the median of the rounds' averages):
#   XSBENCH: <daemon> guest <test> <average ns> <fastest ns>
# Needs xenconsoled (the figures come on the guest's console; 300 s at most:
# under a loaded TCG host a guest's request can take 100 ms). Returns 1 if
# the guest did not come up or a request failed.
# With XSBENCH_LOCKSTEP=1 the guest runs its rounds one at a time, each
# when dom0 rings its doorbell (xq-xsbench -d, as xsd-compare.sh's
# xsd_alternate has it), each round a lockstep span (xsbench_guest_rounds).
XSBENCH_GUEST_ITERS=${XSBENCH_GUEST_ITERS:-${XSBENCH_ITERS:-50}}
XSBENCH_GUEST_ROUNDS=${XSBENCH_GUEST_ROUNDS:-3}
xsbench_guest() {  # xsbench_guest DAEMON
    [ "${XSBENCH_ITERS:-0}" -gt 0 ] || return 0
    [ "${XSBENCH_LOCKSTEP:-0}" = 1 ] && { xsbench_guest_rounds "$1"; return; }
    xsg_n=xsbench-guest; xsg_log=/var/log/xen/console/guest-$xsg_n.log
    rm -f $xsg_log
    xsg_rc=0
    if xl create /etc/xen/guest.cfg "name=\"$xsg_n\"" "extra=\"console=hvc0 quiet xq_xsbench=$XSBENCH_GUEST_ITERS xq_xsbench_rounds=$XSBENCH_GUEST_ROUNDS\"" >/tmp/xsbench-guest.out 2>&1 \
        && xq-tools wait $xsg_log GUEST_MARKER_DONE 300000 >/dev/null; then
        tr -d '\r' < $xsg_log | sed -n 's/^GUEST_XSBENCH \([a-z0-9-]*\) \(.*\)/\1 \2/p' |
        while read -r xsg_t xsg_v; do echo "$XSBENCH_TAG: $1 guest $xsg_t $xsg_v"; done
        grep -q "GUEST_XSBENCH read-2000 [0-9]" $xsg_log && ! grep -q "GUEST_XSBENCH.*failed" $xsg_log || xsg_rc=1
    else
        xsg_rc=1
    fi
    [ $xsg_rc = 0 ] || { echo "XSBENCH-OUTPUT (guest):"; tail -5 /tmp/xsbench-guest.out; tail -8 $xsg_log 2>/dev/null; }
    # destroyed, and gone from the hypervisor's list before the next check (20 s at most)
    xsg_d=$(xl domid $xsg_n 2>/dev/null)
    xl destroy $xsg_n >/dev/null 2>&1
    xsg_i=0
    while [ -n "$xsg_d" ] && cxen-probe list | grep -q "^$xsg_d " && [ $xsg_i -lt 400 ]; do
        xsg_i=$((xsg_i+1)); sleep 0.05
    done
    return $xsg_rc
}

# xsbench_doorbell DOMID: the port of the doorbell the guest DOMID's
# xq-xsbench -d binds (data/xq-doorbell), once it is there (2 minutes at most).
xsbench_doorbell() {
    xsg_i=0
    while ! xenstore-read /local/domain/$1/data/xq-doorbell 2>/dev/null; do
        xsg_i=$((xsg_i+1)); [ $xsg_i -lt 600 ] || return 1; sleep 0.2
    done
}

# xsbench_guest_round DOMID PORT ROUND: dom0 rings the doorbell (PORT) of
# the guest DOMID, which runs xq-xsbench -d, and waits for its ROUND-th
# round's result (data/xq-result, which must say "round ROUND": a stale
# result is a failure, not a figure), left in /tmp/xsb-result. Returns 1
# with the reason on stdout if the guest did not answer.
xsbench_guest_round() {
    if ! xq-tools doorbell "$1" "$2" 120000; then echo "no answer to round $3"; return 1; fi
    xenstore-read -R /local/domain/$1/data/xq-result > /tmp/xsb-result 2>&1
    [ "$(head -1 /tmp/xsb-result)" = "round $3" ] || { echo "round $3: the guest's result is $(head -3 /tmp/xsb-result | tr '\n' ' ')"; return 1; }
}

# xsbench_guest_rounds DAEMON: xsbench_guest's rounds, each on dom0's
# doorbell and each a lockstep span (XSBENCH_LOCKSTEP=1), in one guest.
xsbench_guest_rounds() {
    xsg_n=xsbench-guest; xsg_rc=0
    rm -f /var/log/xen/console/guest-$xsg_n.log
    if ! xl create /etc/xen/guest.cfg "name=\"$xsg_n\"" "extra=\"console=hvc0 quiet xq_xsbench_alt=$XSBENCH_GUEST_ITERS xq_xsbench_rounds=$XSBENCH_GUEST_ROUNDS\"" >/tmp/xsbench-guest.out 2>&1; then
        echo "XSBENCH-OUTPUT (guest):"; tail -5 /tmp/xsbench-guest.out
        return 1
    fi
    xsg_d=$(xl domid $xsg_n)
    if ! xsg_bell=$(xsbench_doorbell $xsg_d); then
        echo "XSBENCH-OUTPUT (guest): no doorbell"; tail -5 /var/log/xen/console/guest-$xsg_n.log 2>&1 | tr -d '\r'
        xsg_rc=1
    else
        for xsg_r in $(seq "$XSBENCH_GUEST_ROUNDS"); do
            xsb_span begin xsbench-guest-$xsg_r
            xsg_why=$(xsbench_guest_round $xsg_d $xsg_bell $xsg_r) || xsg_rc=1
            xsb_span end xsbench-guest-$xsg_r
            [ $xsg_rc = 0 ] || { echo "XSBENCH-OUTPUT (guest): $xsg_why"; break; }
            # (each request's µs as XSBENCH-TIMES lines, outside the run's tables)
            sed -n -e "/^times-/{s/^times-/XSBENCH-TIMES: $1 guest /p;d;}" -e "2,\$s/^/$XSBENCH_TAG: $1 guest /p" /tmp/xsb-result
            grep -q failed /tmp/xsb-result && { xsg_rc=1; break; }
        done
    fi
    xl destroy $xsg_n >/dev/null 2>&1
    xsg_i=0
    while [ -n "$xsg_d" ] && cxen-probe list | grep -q "^$xsg_d " && [ $xsg_i -lt 400 ]; do
        xsg_i=$((xsg_i+1)); sleep 0.05
    done
    return $xsg_rc
}
