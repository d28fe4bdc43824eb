# Both xenstored daemons in one boot, in turn (issue 14 item 7), sourced
# by a checks file in dom0 after /xsbench.sh: Xen's C xenstored and swxl's
# take turns serving the same dom0, so that the figures of each are taken
# under the same conditions (the same boot, the same host load, the same
# number of rounds, neither always after the other). Each turn stops
# xenconsoled and the running daemon, starts the other one (as the
# harness's boots start them), xen-init-dom0 and xenconsoled, then takes
#   - unless XSD_GUEST=0 (the guest's figures from xsd_alternate instead,
#     below), the guest's figures (xsbench_guest: reads and writes from
#     inside a guest over its own ring, in one guest),
#     in XSD_GUEST_ROUNDS rounds (default 5) of XSD_GUEST_ITERS requests
#     per test (default 10),
#   - with XSD_DOM0=1, test-xenstore over the socket and dom0's ring, in
#     XSD_DOM0_ROUNDS short rounds (default 10) of -i XSD_DOM0_ITERS
#     (default 5): many values per turn for the run script's median, as a
#     stall of the host or a flush of QEMU's translation cache spoils a
#     round or two, not the turn's figure,
#     both as XSBENCH-TURNS: lines (XSBENCH: lines' format; none if
#     XSBENCH_ITERS is 0); xsd_dom0_alternate (below) takes them round by
#     round instead, as the harness now does,
#   - a create of the ramdisk guest with each tool of XSD_TOOLS in order
#     (default xl; a tool may come more than once, as "xl swxl xl xl":
#     the target is xl's), all that XSD_CREATES times (default 1), until
#     the command returns and until the
#     guest's marker (a create varies by 10-30 % from one to the next under
#     TCG, mostly in xl's own work, such as unpacking the guest's kernel):
#       XSDCREATE: <daemon> <tool> <round> <return_ms> <marker_ms>
# The run script prints the medians of both side by side.
XSD_TOOLS=${XSD_TOOLS:-xl}
XSD_CREATES=${XSD_CREATES:-1}
XSD_GUEST_ROUNDS=${XSD_GUEST_ROUNDS:-5}
XSD_GUEST_ITERS=${XSD_GUEST_ITERS:-10}
XSD_DOM0_ROUNDS=${XSD_DOM0_ROUNDS:-10}
XSD_DOM0_ITERS=${XSD_DOM0_ITERS:-5}

# xsd_stop: xenconsoled and the running xenstored stopped (gone, not a zombie).
xsd_stop() {
    for xsd_f in /run/xenconsoled.pid /run/xenstore.pid; do
        xsd_p=$(cat $xsd_f 2>/dev/null)
        rm -f $xsd_f
        [ -n "$xsd_p" ] || continue
        kill "$xsd_p" 2>/dev/null
        xsd_i=0
        while [ -d /proc/$xsd_p ] && ! grep -q '^State:.*Z' /proc/$xsd_p/status 2>/dev/null && [ $xsd_i -lt 100 ]; do
            xsd_i=$((xsd_i+1)); sleep 0.05
        done
        kill -9 "$xsd_p" 2>/dev/null
    done
    return 0
}

# xsd_start DAEMON [ARG...]: DAEMON (xen or swxl, with ARGs for swxl's)
# serves dom0 from now on, alone (after xsd_stop). Returns 1 if it does
# not answer.
xsd_start() {
    xsd_which=$1; shift
    export XENSTORED_ROOTDIR=/run/xenstored
    case $xsd_which in
        xen) xenstored --pid-file /run/xenstore.pid ;;
        swxl)
            [ -x /usr/local/sbin/swxl-xenstored ] || {
                mkdir -p /usr/local/sbin
                printf '#!/bin/sh\nexec swxl xenstored "$@"\n' > /usr/local/sbin/swxl-xenstored
                chmod 755 /usr/local/sbin/swxl-xenstored
            }
            choom -n -1000 /usr/local/sbin/swxl-xenstored -- --pid-file /run/xenstore.pid "$@" ;;
    esac
    xsd_i=0
    while ! xenstore-read -s / >/dev/null 2>&1; do
        xsd_i=$((xsd_i+1)); [ $xsd_i -gt 300 ] && return 1; sleep 0.1
    done
}

# xsd_use DAEMON [ARG...]: DAEMON serves dom0 from now on, with
# xen-init-dom0 and xenconsoled on top. Returns 1 if it does not answer.
xsd_use() {
    xsd_stop
    xsd_start "$@" || return 1
    xen-init-dom0 >/dev/null 2>&1 || return 1
    xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid
}

# xsd_create DAEMON TOOL ROUND: one create of the ramdisk guest, timed.
xsd_create() {
    xsd_n=xsd-$2-$3
    rm -f /var/log/xen/console/guest-$xsd_n.log
    cxen-probe wait-scrub
    xsd_t0=$(xq-tools now)
    if $2 create /etc/xen/guest.cfg "name=\"$xsd_n\"" >/tmp/xsd-create.out 2>&1; then
        xsd_t1=$(xq-tools now)
        if xq-tools wait /var/log/xen/console/guest-$xsd_n.log GUEST_MARKER_DONE 90000 >/dev/null; then
            xsd_t2=$(xq-tools now)
            echo "XSDCREATE: $1 $2 $3 $((xsd_t1 - xsd_t0)) $((xsd_t2 - xsd_t0))"
        else
            echo "XSDCREATE-FAILED: $1 $2 $3 no marker"
        fi
    else
        echo "XSDCREATE-FAILED: $1 $2 $3 $(tail -2 /tmp/xsd-create.out | tr '\n' ' ')"
    fi
    xsd_d=$(xl domid $xsd_n 2>/dev/null)
    xl destroy $xsd_n >/dev/null 2>&1
    xsd_i=0
    while [ -n "$xsd_d" ] && cxen-probe list | grep -q "^$xsd_d " && [ $xsd_i -lt 400 ]; do
        xsd_i=$((xsd_i+1)); sleep 0.05
    done
}

# xsd_compare ROUNDS: ROUNDS turns of each daemon, Xen's first in odd
# rounds and swxl's first in even ones. Leaves the last daemon running.
xsd_compare() {
    xsd_r=1
    while [ $xsd_r -le "$1" ]; do
        if [ $((xsd_r % 2)) = 1 ]; then xsd_order="xen swxl"; else xsd_order="swxl xen"; fi
        for xsd_daemon in $xsd_order; do
            if ! xsd_use $xsd_daemon; then echo "XSDCREATE-FAILED: $xsd_daemon cannot start"; continue; fi
            xsd_saved="$XSBENCH_TAG ${XSBENCH_ROUNDS:-10} ${XSBENCH_ITERS:-0} $XSBENCH_GUEST_ROUNDS $XSBENCH_GUEST_ITERS"
            XSBENCH_TAG=XSBENCH-TURNS
            XSBENCH_GUEST_ROUNDS=$XSD_GUEST_ROUNDS; XSBENCH_GUEST_ITERS=$XSD_GUEST_ITERS
            [ "${XSD_GUEST:-1}" = 0 ] || xsbench_guest $xsd_daemon || echo "XSDCREATE-FAILED: $xsd_daemon guest figures"
            if [ "${XSD_DOM0:-0}" = 1 ] && [ "${XSBENCH_ITERS:-0}" -gt 0 ]; then
                XSBENCH_ROUNDS=$XSD_DOM0_ROUNDS; XSBENCH_ITERS=$XSD_DOM0_ITERS
                xsbench $xsd_daemon
            fi
            read -r XSBENCH_TAG XSBENCH_ROUNDS XSBENCH_ITERS XSBENCH_GUEST_ROUNDS XSBENCH_GUEST_ITERS <<XSD_SAVED
$xsd_saved
XSD_SAVED
            # each tool's creates numbered from 1 in the turn: ROUND-N
            xsd_c=1; xsd_seen=" "
            while [ $xsd_c -le "$XSD_CREATES" ]; do
                for xsd_tool in $XSD_TOOLS; do
                    xsd_seen="$xsd_seen$xsd_tool "
                    xsd_k=$(printf '%s' "$xsd_seen" | tr ' ' '\n' | grep -cx "$xsd_tool")
                    xsd_create $xsd_daemon $xsd_tool $xsd_r-$xsd_k
                done
                xsd_c=$((xsd_c+1))
            done
        done
        xsd_r=$((xsd_r+1))
    done
}

# xsd_dom0_alternate ROUNDS: test-xenstore over the socket and dom0's
# ring (xsbench: one round of -i XSD_DOM0_ITERS each time) with the
# daemons taking turns round by round, ROUNDS rounds each, in the order
# xen swxl swxl xen xen swxl ... (xsd_alternate's). Until 2026-12-07 each
# daemon had one turn of ten rounds, one after the other: a slow phase of
# the host (a run of rounds about twice as slow, 10-20 s) then fell on one
# daemon's turn only, and moved its median by up to a third (ring read-1,
# 0.88 in one CI run where the boots' lockstep rounds said 0.63). Round by
# round, a phase falls on both alike, and the run pairs each swxl round
# with the xen round beside it. Each change of daemon is an xsd_use (about
# a second); each daemon's first round after one is as often first as
# second of a pair. Leaves the last daemon running.
xsd_dom0_alternate() {
    [ "${XSBENCH_ITERS:-0}" -gt 0 ] || return 0
    xda_on=none; xda_r=1; xda_rc=0
    while [ $xda_r -le $(($1 * 2)) ]; do
        case $((xda_r % 4)) in 0|1) xda_which=xen ;; *) xda_which=swxl ;; esac
        if [ $xda_which != $xda_on ]; then
            xda_on=$xda_which
            xsd_use $xda_which || { echo "XSBENCH-ALT-FAILED: $xda_which did not start"; return 1; }
        fi
        (XSBENCH_TAG=XSBENCH-TURNS XSBENCH_ROUNDS=1 XSBENCH_ITERS=$XSD_DOM0_ITERS XSBENCH_LOCKSTEP=0; xsbench $xda_which) || xda_rc=1
        xda_r=$((xda_r+1))
    done
    return $xda_rc
}

# xsd_alternate ROUNDS ITERS [KEY=VALUE...]: the guest's figures with the daemons taking
# turns round by round under one guest, so that a slow phase of the host
# (10-20 s in which every request takes about twice as long) falls on both
# daemons' rounds alike: a guest made by xl on Xen's daemon runs
# xq-xsbench -d (ROUNDS rounds of ITERS requests per test, each when dom0
# rings its doorbell); the rounds go to Xen's daemon and swxl's in the
# order xen swxl swxl xen xen swxl ... (each daemon as often first as
# second). Between two rounds the guest has no request in its ring, so dom0
# stops one daemon (and xenconsoled, which would lose its daemon), starts
# the other with xen-init-dom0 and xenconsoled (xsd_use: as a host runs
# it, its clients connected; the guest's console is not in the new store,
# so xenconsoled leaves it alone), gives it the guest's home and
# introduces the guest (mfn and port as xl gave them to the first one). KEY=VALUEs go to xl create
# after the guest's config. One line per round and test:
#   XSBENCH-TURNS: <daemon> guest <test> <average ns> <fastest ns>
# and XSBENCH-ALT-FAILED: <why> if a step failed. Leaves no daemon running
# (xsd_use next).
xsd_alternate() {
    xsa_n=xsbench-alt
    xsd_use xen || { echo "XSBENCH-ALT-FAILED: Xen's daemon did not start"; return 1; }
    rm -f /var/log/xen/console/guest-$xsa_n.log
    xsa_rounds=$1; xsa_iters=$2; shift 2
    if ! xl create /etc/xen/guest.cfg "name=\"$xsa_n\"" \
            "extra=\"console=hvc0 quiet xq_xsbench_alt=$xsa_iters xq_xsbench_rounds=$xsa_rounds\"" "$@" >/tmp/xsa-create.out 2>&1; then
        echo "XSBENCH-ALT-FAILED: xl create: $(tail -2 /tmp/xsa-create.out | tr '\n' ' ')"
        return 1
    fi
    xsa_d=$(xl domid $xsa_n); xsa_h=/local/domain/$xsa_d
    xsa_mfn=$(xenstore-read $xsa_h/store/ring-ref); xsa_port=$(xenstore-read $xsa_h/store/port)
    xsa_bell=$(xsbench_doorbell $xsa_d)
    xsa_on=xen; xsa_r=1; xsa_rc=0
    [ -n "$xsa_bell" ] || { echo "XSBENCH-ALT-FAILED: no doorbell from the guest: $(tail -3 /var/log/xen/console/guest-$xsa_n.log 2>&1 | tr -d '\r' | tr '\n' ' ')"; xsa_r=$((xsa_rounds + 1)); xsa_rc=1; }
    while [ $xsa_r -le $xsa_rounds ]; do
        case $((xsa_r % 4)) in 0|1) xsa_which=xen ;; *) xsa_which=swxl ;; esac
        if [ $xsa_which != $xsa_on ]; then
            xsa_on=$xsa_which
            if ! xsd_use $xsa_which; then echo "XSBENCH-ALT-FAILED: $xsa_which did not start"; xsa_rc=1; break; fi
            # the guest's home, its own (14: SET_PERMS), and the guest (8: INTRODUCE)
            xenstore-write $xsa_h ""
            xsa_out="$(xq-xsraw /run/xenstored/socket 14 $xsa_h n$xsa_d) $(xq-xsraw /run/xenstored/socket 8 $xsa_d $xsa_mfn $xsa_port)"
            [ "$xsa_out" = "14 OK| 8 OK|" ] || { echo "XSBENCH-ALT-FAILED: $xsa_which: SET_PERMS, INTRODUCE: $xsa_out"; xsa_rc=1; break; }
        fi
        if ! xsa_why=$(xsbench_guest_round $xsa_d $xsa_bell $xsa_r); then
            echo "XSBENCH-ALT-FAILED: $xsa_which: $xsa_why"; xsa_rc=1; break
        fi
        sed -n "2,\$s/^/XSBENCH-TURNS: $xsa_which guest /p" /tmp/xsb-result
        grep -q failed /tmp/xsb-result && { xsa_rc=1; break; }
        xsa_r=$((xsa_r+1))
    done
    cxen-probe destroy $xsa_d >/dev/null 2>&1
    xsa_i=0
    while cxen-probe list | grep -q "^$xsa_d " && [ $xsa_i -lt 400 ]; do xsa_i=$((xsa_i+1)); sleep 0.05; done
    xsd_stop
    return $xsa_rc
}
