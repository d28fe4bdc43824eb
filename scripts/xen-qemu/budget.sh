# The run's time budget for its benchmarks, sourced by both boots' checks.
# scripts/test gives the run a deadline (XQ_DEADLINE: the CI's 40 minutes
# less a margin), which reaches dom0 on its command line as xq_deadline=,
# in the host's seconds since the epoch. The later benchmarks, which no
# check depends on, run only when the rest of the run still fits before
# it: on a slow host (QEMU up to 1.4 times slower from one CI run to the
# next) the CI run would otherwise go over its limit.
#
# The host's clock, not dom0's: boots.py pauses this VM while the other
# boot benchmarks, and dom0's own clock (from the virtual TSC) stops then;
# QEMU's emulated RTC (-rtc clock=host) follows the host's throughout.
XQ_DEADLINE=$(sed -n 's/.*xq_deadline=\([0-9]*\).*/\1/p' /proc/cmdline)
XQ_RTC=/sys/class/rtc/rtc0/since_epoch
# time_left: seconds until the deadline by the host's clock (a day with none)
time_left() {
    if [ -n "$XQ_DEADLINE" ] && [ -r $XQ_RTC ]; then echo $((XQ_DEADLINE - $(cat $XQ_RTC)))
    else echo 86400; fi
}
# bench_fits NAME SECONDS: whether a benchmark that needs SECONDS, with the
# rest of the run after it, on the slowest host seen, fits before the
# deadline; if not it says so (the run lists what was left out) and fails.
bench_fits() {
    b_left=$(time_left)
    [ "$b_left" -ge "$2" ] && return 0
    echo "BENCH-SKIPPED: $1 (needs about $2 s, the run's deadline is $b_left s away)"
    return 1
}
if [ -n "$XQ_DEADLINE" ] && [ ! -r $XQ_RTC ]; then
    echo "BENCH-BUDGET: no $XQ_RTC in dom0, so the run's deadline is not kept"
fi
