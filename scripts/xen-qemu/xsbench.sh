# The xenstored figures (issue 14 item 7), sourced by checks.sh (Xen's C
# daemon) and checks-swxl-xenstored.sh (swxl's) in dom0: Xen's
# test-xenstore -i $XSBENCH_ITERS over the daemon's socket and over dom0's
# ring (/dev/xen/xenbus: the dom0 kernel's xenbus), one line per test
#   XSBENCH: <daemon> socket|ring <test> <average ns> <fastest ns>   (or: failed)
# (under TCG one stalled run of 50 moves the average by milliseconds: so
# XSBENCH_ROUNDS rounds, default 3, of which the run script prints the
# median average and the fastest run)
# (the run script prints them side by side; never asserted). Returns 1 if
# test-xenstore failed (a wrong answer, not a slow one).
xsbench() {  # xsbench DAEMON
    [ "${XSBENCH_ITERS:-0}" -gt 0 ] || return 0
    xsb_rc=0
    # Several rounds, each printed: the run script takes the median of their
    # averages (one stalled round under TCG moves an average by milliseconds).
    for xsb_round in $(seq "${XSBENCH_ROUNDS:-3}"); do
    for xsb_t in socket ring; do
        case $xsb_t in socket) xsb_p=/run/xenstored/socket ;; ring) xsb_p=/dev/xen/xenbus ;; esac
        xsb_ok=1
        XENSTORED_PATH=$xsb_p timeout 300 test-xenstore -i "$XSBENCH_ITERS" > /tmp/xsbench.out 2>&1 || { xsb_ok=0; xsb_rc=1; }
        # "read 2000 : avg: 123 ns (...)", "ta err    : failed (ret = 5, stage run)"
        sed -n -e 's/^\([a-z][a-z0-9 ]*[a-z0-9]\) *: avg: \([0-9]*\) ns (\([0-9]*\) ns.*/\1:\2 \3/p' \
               -e 's/^\([a-z][a-z0-9 ]*[a-z0-9]\) *: failed.*/\1:failed/p' /tmp/xsbench.out |
        while IFS=: read -r xsb_n xsb_v; do
            echo "XSBENCH: $1 $xsb_t $(echo "$xsb_n" | tr ' ' '-') $xsb_v"
        done
        [ $xsb_ok = 1 ] || { echo "XSBENCH-OUTPUT ($xsb_t):"; tail -5 /tmp/xsbench.out; }
    done
    done
    return $xsb_rc
}
