# The commands automation uses, and xl's semantics scripts rely on, sourced
# near the end of checks.sh (its helpers and variables). Against xl (and
# xentop, which `xl top` runs) on the same host: cpupool-list, top -b
# (CPU columns masked: they move between samples), sysrq (the guest takes
# the key: it empties control/sysrq and its kernel says `sysrq:` on its
# console), debug-keys (Xen's answer in xl dmesg), dump-core (both files
# ELF cores of the same size, their headers and notes byte for byte the
# same), mem-set with suffixes (the same memory/target as xl's), a config
# with numbers in quotes, reboot (a new domid), shutdown -w with
# on_poweroff="preserve" (listed ---s-- by xl until destroyed).
# New checks say TODO on a mismatch (xfail) until they have passed on real
# Xen; then xfail becomes fail.
xfail() { todo "$@"; }
unlog() { sed -E "s/^libxl: error: [^ ]+: (Domain [0-9]+:)?//; s/^swxl: error: //; s/^Usage: swxl /Usage: xl /; s/^'swxl /'xl /"; }
# xsame [-f] NAME ARGS...: swxl ARGS and xl ARGS print the same (stdout and
# stderr, each whole, `swxl` read as `xl`) and exit alike; a mismatch is
# xfail (TODO), with -f (a check that has passed on real Xen) a FAIL
xsame() {
    verdict=xfail; [ "$1" = -f ] && { verdict=fail; shift; }
    n=$1; shift
    swxl "$@" >/tmp/xc.s.out 2>/tmp/xc.s.err; s_rc=$?
    xl "$@" >/tmp/xc.x.out 2>/tmp/xc.x.err; x_rc=$?
    if [ "$s_rc" = "$x_rc" ] && [ "$(unlog </tmp/xc.s.out)" = "$(cat /tmp/xc.x.out)" ] \
            && [ "$(unlog </tmp/xc.s.err)" = "$(unlog </tmp/xc.x.err)" ]; then
        pass "$n" "rc=$s_rc"
    else
        $verdict "$n" "swxl rc=$s_rc: $(cat /tmp/xc.s.out /tmp/xc.s.err | tr '\n' '|' | cut -c1-500) / xl rc=$x_rc: $(cat /tmp/xc.x.out /tmp/xc.x.err | tr '\n' '|' | cut -c1-500)"
    fi
}
# xentop's batch output with what moves between samples masked: CPU(sec),
# CPU(%), and whether the domain was running or blocked that instant
topmask() { awk '$1 == "NAME" { print; next } { $2 = substr($2, 1, 2) "?" substr($2, 4, 2) "?"; $3 = "<cpu>"; $4 = "<pct>"; print }'; }
# wait_value PATH WANT TENTHS: until xenstore holds WANT at PATH
wait_value() {
    i=0
    while [ "$(xenstore-read "$1" 2>/dev/null)" != "$2" ]; do i=$((i+1)); [ $i -gt "$3" ] && return 1; sleep 0.1; done
}
# wait_count FILE TEXT N TENTHS: until FILE holds TEXT on N lines at least
wait_count() {
    i=0
    while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do i=$((i+1)); [ $i -gt "$4" ] && return 1; sleep 0.1; done
}
# wait_new_domid NAME OLD TENTHS: until NAME has a domid other than OLD
wait_new_domid() {
    i=0
    while :; do
        d=$(domid_of "$1"); [ -n "$d" ] && [ "$d" != "$2" ] && { echo $d; return 0; }
        i=$((i+1)); [ $i -gt "$3" ] && return 1; sleep 0.1
    done
}
# pools_settled: Xen takes a destroyed domain out of its cpupool's count
# only when the domain's last reference goes (Xen 4.17: an RCU callback,
# after the domain has left the domain list), so just after a destroy
# `cpupool-list` may count a domain the list no longer shows (a CI run: 2
# for swxl, then 1 for xl, 1.4 s after the 512 MiB save benchmark's last
# destroy): until the pool's count and the list agree (5 s at most)
pools_settled() {
    i=0
    while [ "$(xl cpupool-list | awk 'NR > 1 { n += $NF } END { print n + 0 }')" != "$(cxen-probe list | wc -l | tr -d ' ')" ]; do
        i=$((i+1)); [ $i -gt 100 ] && return 1; sleep 0.05
    done
}

if has_swxl cpupool-list && has_swxl top && has_swxl sysrq && has_swxl dump-core; then
    settle   # no domain of the checks before still dying: xl and swxl must count the same domains
    pools_settled || echo "cpupool-list: the pools still count $(xl cpupool-list | awk 'NR > 1 { n += $NF } END { print n + 0 }') domains, the list shows $(cxen-probe list | wc -l)"
    xsame -f xlcmd-cpupool-list-as-xl cpupool-list
    xsame -f xlcmd-cpupool-list-cpus-as-xl cpupool-list -c
    xsame -f xlcmd-cpupool-list-pool-as-xl cpupool-list Pool-0
    xsame -f xlcmd-cpupool-list-no-pool-as-xl cpupool-list nopool
    xsame -f xlcmd-cpupool-list-bad-option-as-xl cpupool-list -z
    xsame -f xlcmd-debug-keys-usage-as-xl debug-keys
    xsame -f xlcmd-sysrq-usage-as-xl sysrq

    # mem-set and dump-core's refusals on guests made paused (never run)
    if swxl create -q -p $CFG 'name="coreguest"' 'memory=96' >/tmp/xc.out 2>&1; then
        # A PV guest that has never run has no p2m yet: both refuse it
        swxl dump-core coreguest /tmp/xc.core >/tmp/xc.s.out 2>&1; s_rc=$?
        xl dump-core coreguest /tmp/xc.core >/tmp/xc.x.out 2>&1; x_rc=$?
        rm -f /tmp/xc.core
        [ "$s_rc" = "$x_rc" ] && [ "$(tail -1 /tmp/xc.s.out)" = "$(tail -1 /tmp/xc.x.out)" ] \
            && pass xlcmd-dump-core-never-run-as-xl "rc=$s_rc $(tail -1 /tmp/xc.s.out)" \
            || fail xlcmd-dump-core-never-run-as-xl "swxl rc=$s_rc $(tr '\n' '|' </tmp/xc.s.out) / xl rc=$x_rc $(tr '\n' '|' </tmp/xc.x.out)"
        swxl dump-core coreguest /nonexistent/core >/tmp/xc.s.out 2>&1; s_rc=$?
        xl dump-core coreguest /nonexistent/core >/tmp/xc.x.out 2>&1; x_rc=$?
        [ "$s_rc" = "$x_rc" ] && [ "$(tail -1 /tmp/xc.s.out)" = "$(tail -1 /tmp/xc.x.out)" ] \
            && pass xlcmd-dump-core-refused-as-xl "rc=$s_rc $(tail -1 /tmp/xc.s.out)" \
            || fail xlcmd-dump-core-refused-as-xl "swxl rc=$s_rc $(tr '\n' '|' </tmp/xc.s.out) / xl rc=$x_rc $(tr '\n' '|' </tmp/xc.x.out)"
        # mem-set: MiB by default, k m g t b suffixes, as xl reads them. xl
        # sets only domains libxl made (it reads their config back), so each
        # tool sets its own paused guest of the same size: the same
        # memory/target and exit status.
        if xl create -q -p $CFG 'name="memguest"' 'memory=96' >/tmp/xc.out 2>&1; then
            sd=$(domid_of coreguest); xd=$(domid_of memguest)
            for size in 80 80m 81920k 90M 0.1g 83886080b 90x 1g; do
                swxl mem-set coreguest $size >/tmp/xc.s.out 2>&1; s_rc=$?
                s_t=$(xenstore-read /local/domain/$sd/memory/target 2>&1)
                xl mem-set memguest $size >/tmp/xc.x.out 2>&1; x_rc=$?
                x_t=$(xenstore-read /local/domain/$xd/memory/target 2>&1)
                [ "$s_rc" = "$x_rc" ] && [ "$s_t" = "$x_t" ] && pass xlcmd-mem-set-$size-as-xl "rc=$s_rc target=$s_t" \
                    || fail xlcmd-mem-set-$size-as-xl "swxl rc=$s_rc target=$s_t $(tr '\n' ' ' </tmp/xc.s.out) / xl rc=$x_rc target=$x_t $(tr '\n' ' ' </tmp/xc.x.out)"
            done
            xl destroy memguest >/dev/null 2>&1
        else
            fail xlcmd-mem-set-80-as-xl "xl create: $(tail -2 /tmp/xc.out | tr '\n' ' ')"
        fi
        swxl destroy coreguest
    else
        fail xlcmd-mem-set-80-as-xl "swxl create failed: $(tail -2 /tmp/xc.out | tr '\n' ' ')"
    fi
    d=$(domid_of coreguest); [ -n "$d" ] && { swxl destroy coreguest || cxen-probe destroy $d; wait_gone $d; }
    d=$(domid_of memguest); [ -n "$d" ] && { xl destroy memguest || cxen-probe destroy $d; wait_gone $d; }

    # A config with numbers in quotes: read as xl reads them.
    printf 'name = "quoteguest"\nkernel = "/guest/vmlinuz"\nramdisk = "/guest/initrd.gz"\nmemory = '"'96'"'\nvcpus = "2"\n' >/tmp/xc.quoted.cfg
    if swxl create -q -p /tmp/xc.quoted.cfg >/tmp/xc.out 2>&1; then
        s_row=$(xl list quoteguest 2>&1 | tail -1 | awk '{print $3, $4}')
        swxl destroy quoteguest
        xl create -q -p /tmp/xc.quoted.cfg >/tmp/xc.out 2>&1
        x_row=$(xl list quoteguest 2>&1 | tail -1 | awk '{print $3, $4}')
        xl destroy quoteguest >/dev/null 2>&1
        [ "$s_row" = "$x_row" ] && [ -n "$s_row" ] && pass xlcmd-quoted-numbers-as-xl "$s_row" \
            || fail xlcmd-quoted-numbers-as-xl "swxl '$s_row', xl '$x_row'"
    else
        fail xlcmd-quoted-numbers-as-xl "swxl create: $(tail -2 /tmp/xc.out | tr '\n' ' ')"
    fi
    d=$(domid_of quoteguest); [ -n "$d" ] && { swxl destroy quoteguest; xl destroy quoteguest; cxen-probe destroy $d; wait_gone $d; } >/dev/null 2>&1

    # A running guest: top, dump-core, sysrq, debug-keys, reboot, shutdown -w with preserve.
    # 96 MiB: both tools dump the whole guest (128 MiB took ~28 s a tool
    # under TCG); at 64 MiB Xen's PV loader refuses the kernel and ramdisk
    # ("segment kernel too large": they must fit in the first 64 MiB less
    # the page tables)
    rm -f $CONLOG/guest-cmdguest.log
    if swxl create -q $CFG 'name="cmdguest"' 'memory=96' 'on_poweroff="preserve"' >/tmp/xc.out 2>&1 \
            && xq-tools wait $CONLOG/guest-cmdguest.log $MARKER $MARKER_TIMEOUT_MS >/dev/null; then
        d=$(domid_of cmdguest)
        swxl top -b -i 1 >/tmp/xc.s.top 2>&1; s_rc=$?
        xentop -b -i 1 >/tmp/xc.x.top 2>&1; x_rc=$?
        if [ "$s_rc" = "$x_rc" ] && [ "$(topmask </tmp/xc.s.top)" = "$(topmask </tmp/xc.x.top)" ]; then
            pass xlcmd-top-batch-as-xentop "rc=$s_rc, $(wc -l </tmp/xc.s.top) lines"
        else
            fail xlcmd-top-batch-as-xentop "swxl rc=$s_rc: $(tr '\n' '|' </tmp/xc.s.top | cut -c1-700) / xentop rc=$x_rc: $(tr '\n' '|' </tmp/xc.x.top | cut -c1-700)"
        fi
        swxl top -b -i 2 -d 1 -x -n -r >/tmp/xc.s.top 2>&1; s_rc=$?
        xentop -b -i 2 -d 1 -x -n -r >/tmp/xc.x.top 2>&1; x_rc=$?
        if [ "$s_rc" = "$x_rc" ] && [ "$(topmask </tmp/xc.s.top)" = "$(topmask </tmp/xc.x.top)" ]; then
            pass xlcmd-top-batch-devices-as-xentop "rc=$s_rc, $(wc -l </tmp/xc.s.top) lines"
        else
            fail xlcmd-top-batch-devices-as-xentop "swxl rc=$s_rc: $(tr '\n' '|' </tmp/xc.s.top | cut -c1-700) / xentop rc=$x_rc: $(tr '\n' '|' </tmp/xc.x.top | cut -c1-700)"
        fi

        # dump-core of the running guest (paused meanwhile), by xl and by swxl,
        # read through a FIFO (a core is the guest's size; dom0 keeps /tmp in
        # memory): the same size, and the ELF header, section headers and
        # notes (the first 1896 bytes) the same, byte for byte
        rm -f /tmp/xc.fifo; mkfifo /tmp/xc.fifo
        xl pause cmdguest
        for tool in xl swxl; do
            $tool dump-core cmdguest /tmp/xc.fifo >/tmp/xc.$tool.out 2>&1 &
            pid=$!
            # (dd one byte at a time: head -c may read past its count from a pipe)
            { dd bs=1 count=1896 2>/dev/null | md5sum | cut -d' ' -f1 >/tmp/xc.$tool.head; wc -c >/tmp/xc.$tool.rest; } </tmp/xc.fifo
            wait $pid; echo $? >/tmp/xc.$tool.rc
        done
        xl unpause cmdguest
        rm -f /tmp/xc.fifo
        s_rc=$(cat /tmp/xc.swxl.rc); x_rc=$(cat /tmp/xc.xl.rc)
        s_size=$(( $(cat /tmp/xc.swxl.rest) + 1896 )); x_size=$(( $(cat /tmp/xc.xl.rest) + 1896 ))
        if [ "$s_rc" = 0 ] && [ "$x_rc" = 0 ] && [ "$s_size" = "$x_size" ]; then
            pass xlcmd-dump-core-as-xl "$s_size bytes"
        else
            fail xlcmd-dump-core-as-xl "swxl rc=$s_rc $s_size bytes $(tr '\n' '|' </tmp/xc.swxl.out) / xl rc=$x_rc $x_size bytes $(tr '\n' '|' </tmp/xc.xl.out)"
        fi
        [ "$(cat /tmp/xc.swxl.head)" = "$(cat /tmp/xc.xl.head)" ] && pass xlcmd-dump-core-headers-as-xl \
            || fail xlcmd-dump-core-headers-as-xl "ELF header, section headers and notes differ"

        # sysrq: the guest's kernel empties control/sysrq and prints its action
        for tool in swxl xl; do
            before=$(grep -c 'sysrq: Emergency Sync' $CONLOG/guest-cmdguest.log)
            $tool sysrq cmdguest s >/tmp/xc.out 2>&1; rc=$?
            if [ $rc = 0 ] && wait_value /local/domain/$d/control/sysrq "" 50 \
                    && wait_count $CONLOG/guest-cmdguest.log 'sysrq: Emergency Sync' $((before + 1)) 50; then
                pass xlcmd-$tool-sysrq-guest-reacts
            else
                fail xlcmd-$tool-sysrq-guest-reacts "rc=$rc $(tr '\n' ' ' </tmp/xc.out) sysrq='$(xenstore-read /local/domain/$d/control/sysrq 2>&1)' console: $(tail -3 $CONLOG/guest-cmdguest.log | tr '\n' '|')"
            fi
        done
        xsame -f xlcmd-sysrq-invalid-as-xl sysrq cmdguest sb
        xsame -f xlcmd-sysrq-no-domain-as-xl sysrq noguest s

        # debug-keys: Xen's answer in its console ring
        for tool in swxl xl; do
            before=$(xl dmesg | grep -c "'h' pressed -> showing installed handlers")
            $tool debug-keys h >/tmp/xc.out 2>&1; rc=$?
            after=$(xl dmesg | grep -c "'h' pressed -> showing installed handlers")
            [ $rc = 0 ] && [ "$after" -gt "$before" ] && pass xlcmd-$tool-debug-keys-in-dmesg \
                || fail xlcmd-$tool-debug-keys-in-dmesg "rc=$rc $(tr '\n' ' ' </tmp/xc.out) before=$before after=$after"
        done

        # reboot with on_reboot="restart" (the default): a new domid, the same name
        if swxl reboot cmdguest >/tmp/xc.out 2>&1 && nd=$(wait_new_domid cmdguest $d 300); then
            pass xlcmd-reboot-new-domid "$d -> $nd"
            d=$nd
            # shutdown -w returns once the guest has shut down; on_poweroff="preserve" keeps it, ---s--
            if wait_count $CONLOG/guest-cmdguest.log $MARKER 2 $((MARKER_TIMEOUT_MS / 100)); then
                swxl shutdown -w cmdguest >/tmp/xc.out 2>&1; rc=$?
                state=$(xl list cmdguest 2>&1 | tail -1 | awk '{print $5}')
                [ $rc = 0 ] && [ "$state" = "---s--" ] && pass xlcmd-shutdown-wait-preserve "xl list: $state" \
                    || fail xlcmd-shutdown-wait-preserve "rc=$rc $(tr '\n' ' ' </tmp/xc.out) xl list: $state"
                sleep 1
                s_state=$(swxl list cmdguest 2>&1 | tail -1 | awk '{print $5}')
                state=$(xl list cmdguest 2>&1 | tail -1 | awk '{print $5}')
                [ "$state" = "---s--" ] && [ "$s_state" = "---s--" ] && pass xlcmd-preserve-stays-listed "xl $state, swxl $s_state" \
                    || fail xlcmd-preserve-stays-listed "xl '$state', swxl '$s_state'"
            else
                fail xlcmd-shutdown-wait-preserve "the rebooted guest did not boot: $(tail -3 $CONLOG/guest-cmdguest.log | tr '\n' '|')"
            fi
        else
            fail xlcmd-reboot-new-domid "$(tr '\n' ' ' </tmp/xc.out) domid now '$(domid_of cmdguest)'"
        fi
        swxl destroy cmdguest
    else
        fail xlcmd-top-batch-as-xentop "create failed: $(tail -3 /tmp/xc.out | tr '\n' ' ') $(tail -3 $CONLOG/guest-cmdguest.log 2>/dev/null | tr '\n' '|')"
    fi
    d=$(domid_of cmdguest); [ -n "$d" ] && { swxl destroy cmdguest || cxen-probe destroy $d; wait_gone $d; }
else
    todo xlcmd-cpupool-list-as-xl "no 'swxl cpupool-list' / 'top' / 'sysrq' / 'dump-core' yet"
fi
