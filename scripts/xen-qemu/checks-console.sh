# The console checks, sourced at the end of checks.sh (its helpers and
# variables): a command typed into a running guest through `swxl console`
# (on a pseudo-terminal, by xq-pty) and its answer read back, as a person
# at a terminal would; Ctrl-] detaches, exit status 0, the terminal as it
# was. The test guest's init runs each line typed at its console (hvc0).
# The same through xl's console (xenconsole), and `swxl create -c`.
mkdir -p /var/lock   # XEN_LOCK_DIR: xenconsole's (and swxl's) console lock
CMD='echo CONSOLE_$((6*7))_$(xenstore-read name)'
# console_check NAME WAITFOR ANSWER CMD...: PASS if xq-pty types through CMD
console_check() {
    n=$1; w=$2; a=$3; shift 3
    if out=$(xq-pty "$w" "$CMD" "$a" $MARKER_TIMEOUT_MS "$@" 2>&1); then
        pass "$n" "$(echo "$out" | grep '^XQ-PTY:')"
    else
        fail "$n" "$(echo "$out" | tail -2 | tr '\n' ' ' | cut -c1-600)"
    fi
}
if has_swxl console && has_swxl create && has_swxl destroy; then
    cxen-probe wait-scrub
    rm -f $CONLOG/guest-conguest.log
    if swxl create -q $CFG 'name="conguest"' >/tmp/con.out 2>&1 \
            && xq-tools wait $CONLOG/guest-conguest.log $MARKER $MARKER_TIMEOUT_MS >/dev/null; then
        d=$(domid_of conguest)
        t=$(xenstore-read /local/domain/$d/console/tty 2>&1)
        console_check swxl-console-types-into-guest "" CONSOLE_42_conguest swxl console conguest
        # xl's console on the same guest: the guest's side works with Xen's own client too.
        console_check xl-console-types-into-guest "" CONSOLE_42_conguest xl console conguest
        echo "CONSOLE: tty $t"
        swxl destroy conguest
        [ -n "$d" ] && wait_gone $d
    else
        fail swxl-console-types-into-guest "guest not up: $(tail -3 /tmp/con.out $CONLOG/guest-conguest.log 2>&1 | tr '\n' ' ')"
        d=$(domid_of conguest); [ -n "$d" ] && { swxl destroy conguest || cxen-probe destroy $d; wait_gone $d; }
    fi

    # create -c: attached before the guest runs, so its marker is seen live.
    cxen-probe wait-scrub
    console_check swxl-create-c-attaches "$MARKER" CONSOLE_42_ccguest swxl create -c $CFG 'name="ccguest"'
    d=$(domid_of ccguest)
    if [ -n "$d" ]; then swxl destroy ccguest || cxen-probe destroy $d; wait_gone $d; fi

    # Refusals as xl's: a name no domain has, domain 0.
    out=$(swxl console nosuch 2>&1); rc=$?
    [ $rc = 1 ] && [ "$out" = "nosuch is an invalid domain identifier (rc=-6)" ] \
        && pass swxl-console-missing-domain || fail swxl-console-missing-domain "rc=$rc '$out'"
    out=$(swxl console 0 2>&1); rc=$?
    xout=$(xl console 0 2>&1); xrc=$?
    [ $rc = $xrc ] && [ "$out" = "$xout" ] \
        && pass swxl-console-domain0-as-xl "rc=$rc '$out'" || fail swxl-console-domain0-as-xl "swxl rc=$rc '$out', xl rc=$xrc '$xout'"
else
    todo swxl-console-types-into-guest "no 'swxl console' yet"
fi
