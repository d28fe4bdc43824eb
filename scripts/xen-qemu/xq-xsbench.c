/*
 * The xenstored figures from inside a guest (issue 14 item 7): reads and
 * writes of 1 and 2000 bytes through libxenstore over the guest's own ring
 * (its kernel's /dev/xen/xenbus), each one timed in the guest.
 *
 *   xq-xsbench ITERATIONS [ROUNDS]
 *
 * prints, per test and round (ROUNDS, default 1, rounds of the four tests
 * in turn), the average and the fastest single request:
 *
 *   GUEST_XSBENCH <test> <average ns> <fastest ns>      (or: <test> failed)
 *
 * with the tests named as Xen's test-xenstore names them (write-1,
 * write-2000, read-1, read-2000), so that the run script puts them beside
 * test-xenstore's figures from dom0. The lines are printed together at the
 * end: a line written to the console between two tests (the guest's hvc0,
 * a write to its console ring, xenconsoled woken in dom0) would put the
 * console's work, on dom0's CPU, between the tests' requests. The nodes are the guest's own
 * (data/xq-xsbench-*, relative to its home), written before they are read.
 * guest-init runs it when the kernel command line says xq_xsbench=N.
 *
 *   xq-xsbench -d ITERATIONS ROUNDS
 *
 * the same rounds, each one when dom0 rings a doorbell, for daemons that
 * take turns under the one guest (xsd-compare.sh's xsd_alternate): an
 * event channel of the guest's own, unbound for dom0, its port written to
 * data/xq-doorbell. On each ring the guest runs a round (after one untimed
 * request of each test: the daemon may have just started), writes its
 * lines (without GUEST_XSBENCH), after "round <n>", each followed by
 * "times-<test>" and every request's time in µs, to data/xq-result and
 * rings back. Between
 * rounds it waits on the event channel alone, with no request of its own
 * in its xenstore ring: dom0 may then stop the daemon, start another and
 * introduce the guest to it (each daemon's introduce empties the ring,
 * which is safe only then). guest-init runs it when the kernel command
 * line says xq_xsbench_alt=N (and xq_xsbench_rounds=R).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <xen/xen.h>          /* domid_t, for evtchn.h */
#include <xen/sys/evtchn.h>
#include <xenstore.h>

/* Each test's line, "<test> <average ns> <fastest ns>\n", appended here
 * (with `each`, then "times-<test>" and every request's µs). */
static char lines[8192];
static size_t used;
static int each;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One test: ITERATIONS requests, each timed, its line appended to
 * `lines`; 0 if every one succeeded. */
static int run(struct xs_handle *xs, const char *test, int write, unsigned int size, int iterations)
{
    char path[64], value[2048];
    long long total = 0, fastest = -1, times[iterations];

    snprintf(path, sizeof path, "data/xq-xsbench-%u", size);
    memset(value, 'x', size);
    for (int i = 0; i < iterations; i++) {
        long long t0 = now_ns();
        int ok;
        if (write) {
            ok = xs_write(xs, XBT_NULL, path, value, size);
        } else {
            unsigned int len = 0;
            char *got = xs_read(xs, XBT_NULL, path, &len);
            ok = got != NULL && len == size;
            free(got);
        }
        long long t = now_ns() - t0;
        if (!ok) {
            used += snprintf(lines + used, sizeof lines - used, "%s failed\n", test);
            return 1;
        }
        total += t;
        times[i] = t;
        if (fastest < 0 || t < fastest)
            fastest = t;
    }
    used += snprintf(lines + used, sizeof lines - used, "%s %lld %lld\n", test, total / iterations, fastest);
    if (each) {
        used += snprintf(lines + used, sizeof lines - used, "times-%s", test);
        for (int i = 0; i < iterations; i++)
            used += snprintf(lines + used, sizeof lines - used, " %lld", times[i] / 1000);
        used += snprintf(lines + used, sizeof lines - used, "\n");
    }
    return 0;
}

/* One round of the four tests (`warm`: each request once first, untimed). */
static int round_of_tests(struct xs_handle *xs, int iterations, int warm)
{
    int bad = 0;
    used = 0;
    lines[0] = '\0';
    if (warm)
        bad |= run(xs, "write-1", 1, 1, 1) | run(xs, "write-2000", 1, 2000, 1)
             | run(xs, "read-1", 0, 1, 1) | run(xs, "read-2000", 0, 2000, 1);
    used = 0;
    lines[0] = '\0';
    if (bad)
        return 1;
    bad |= run(xs, "write-1", 1, 1, iterations);
    bad |= !bad && run(xs, "write-2000", 1, 2000, iterations);
    bad |= !bad && run(xs, "read-1", 0, 1, iterations);
    bad |= !bad && run(xs, "read-2000", 0, 2000, iterations);
    return bad;
}

/* The rounds on dom0's doorbell (-d). */
static int doorbell_rounds(struct xs_handle *xs, int iterations, int rounds)
{
    int fd = open("/dev/xen/evtchn", O_RDWR);
    if (fd < 0) {
        perror("xq-xsbench: /dev/xen/evtchn");
        return 1;
    }
    struct ioctl_evtchn_bind_unbound_port unbound = { .remote_domain = 0 };
    int port = ioctl(fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &unbound);
    char text[16];
    snprintf(text, sizeof text, "%d", port);
    if (port < 0 || !xs_write(xs, XBT_NULL, "data/xq-doorbell", text, strlen(text))) {
        perror("xq-xsbench: the doorbell");
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        unsigned int fired;
        if (read(fd, &fired, sizeof fired) != sizeof fired || write(fd, &fired, sizeof fired) != sizeof fired) {
            perror("xq-xsbench: waiting for the doorbell");
            return 1;
        }
        int bad = round_of_tests(xs, iterations, 1);
        char result[sizeof lines + 32];
        int n = snprintf(result, sizeof result, "round %d\n%s", r + 1, lines);
        if (!xs_write(xs, XBT_NULL, "data/xq-result", result, n))
            bad = 1;
        struct ioctl_evtchn_notify back = { .port = port };
        ioctl(fd, IOCTL_EVTCHN_NOTIFY, &back);
        if (bad)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int doorbell = argc > 1 && strcmp(argv[1], "-d") == 0;
    int iterations = argc > 1 + doorbell ? atoi(argv[1 + doorbell]) : 0;
    int rounds = argc > 2 + doorbell ? atoi(argv[2 + doorbell]) : 1;
    if (iterations <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: xq-xsbench [-d] ITERATIONS [ROUNDS]\n");
        return 2;
    }
    struct xs_handle *xs = xs_open(0);
    if (!xs) {
        perror("xq-xsbench: xs_open");
        return 1;
    }
    if (doorbell) {
        each = 1;
        int bad = doorbell_rounds(xs, iterations, rounds);
        xs_close(xs);
        return bad;
    }
    /* Printed together at the end (a console line costs dom0 work). */
    static char out[1 << 16];
    setvbuf(stdout, out, _IOFBF, sizeof out);
    int bad = 0;
    for (int r = 0; r < rounds && !bad; r++) {
        bad |= round_of_tests(xs, iterations, 0);
        for (char *l = lines; *l; ) {
            char *end = strchr(l, '\n');
            printf("GUEST_XSBENCH %.*s\n", (int)(end - l), l);
            l = end + 1;
        }
    }
    fflush(stdout);
    xs_close(xs);
    return bad;
}
