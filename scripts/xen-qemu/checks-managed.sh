# Managed domains (docs/managed.md) on real Xen, sourced near the end of
# checks.sh (its helpers and variables): swxl new, list (halted), start
# (the same uuid each time, as xl and xenstore see it), the guest's
# shutdown with on_poweroff=destroy carried out by swxl's monitor (the
# domain gone, the definition halted), start again, destroy, delete.
# Every check here has passed on real Xen (7 of 7): a mismatch is a FAIL.
managed_state() {  # managed_state NAME -> its "state" in swxl list --json, or "absent"
    swxl list --json 2>/dev/null | grep "\"name\": \"$1\"" | sed -E 's/.*"state": "([^"]*)".*/\1/' | grep . || echo absent
}
managed_uuid_running() {  # the uuid xenstore holds for the running domain NAME
    d=$(domid_of "$1") && xenstore-read /local/domain/$d/vm 2>/dev/null | sed 's|^/vm/||'
}
wait_managed_state() {  # wait_managed_state NAME STATE: up to 30 s
    i=0
    while [ "$(managed_state "$1")" != "$2" ]; do i=$((i+1)); [ $i -gt 300 ] && return 1; sleep 0.1; done
}
if has_swxl new && has_swxl start && has_swxl delete; then
    cxen-probe wait-scrub
    if swxl new -q $CFG 'name="managed"' 'on_poweroff="destroy"' >/tmp/managed.out 2>&1; then
        uuid=$(swxl config show managed | grep '"uuid"' | sed -E 's/.*"uuid": "([^"]*)".*/\1/')
        [ "$(managed_state managed)" = Halted ] && [ -z "$(domid_of managed)" ] \
            && pass managed-new-halted "uuid $uuid" || fail managed-new-halted "$(swxl list 2>&1 | tr '\n' '|')"
        if swxl start managed >/tmp/managed.out 2>&1; then
            u1=$(managed_uuid_running managed)
            [ "$u1" = "$uuid" ] && xl list managed >/dev/null 2>&1 \
                && pass managed-start "xl sees it, uuid $u1" || fail managed-start "uuid '$u1' want '$uuid'; $(xl list 2>&1 | tr '\n' '|')"
            swxl delete managed >/tmp/managed.out 2>&1 && fail managed-delete-running "deleted while running" \
                || pass managed-delete-running "$(cat /tmp/managed.out)"
            swxl shutdown managed >/dev/null 2>&1
            wait_managed_state managed Halted && [ -z "$(domid_of managed)" ] \
                && pass managed-poweroff-halted "monitor.log: $(tail -1 $MONITOR_LOG 2>&1)" \
                || fail managed-poweroff-halted "state $(managed_state managed); $(tail -3 $MONITOR_LOG 2>&1 | tr '\n' ' ')"
        else fail managed-start "$(cat /tmp/managed.out | tr '\n' ' ')"; fi
        if swxl start -p managed >/tmp/managed.out 2>&1; then
            u2=$(managed_uuid_running managed)
            [ "$u2" = "$uuid" ] && pass managed-start-again "uuid $u2" || fail managed-start-again "uuid '$u2' want '$uuid'"
            swxl destroy managed >/dev/null 2>&1
            [ "$(managed_state managed)" = Halted ] && pass managed-destroy-halted "" \
                || fail managed-destroy-halted "state $(managed_state managed)"
        else fail managed-start-again "$(cat /tmp/managed.out | tr '\n' ' ')"; fi
        swxl delete managed >/tmp/managed.out 2>&1 && [ "$(managed_state managed)" = absent ] \
            && pass managed-delete "" || fail managed-delete "$(cat /tmp/managed.out | tr '\n' ' ')"
    else fail managed-new "$(cat /tmp/managed.out | tr '\n' ' ')"; fi
    d=$(domid_of managed) && { swxl destroy managed || cxen-probe destroy $d; } >/dev/null 2>&1
    swxl delete managed >/dev/null 2>&1
else todo managed "no swxl new/start/delete"; fi
