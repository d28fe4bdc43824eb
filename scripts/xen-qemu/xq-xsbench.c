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
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One test: ITERATIONS requests, each timed; 0 if every one succeeded. */
static int run(struct xs_handle *xs, const char *test, int write, unsigned int size, int iterations)
{
    char path[64], value[2048];
    long long total = 0, fastest = -1;

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
            printf("GUEST_XSBENCH %s failed\n", test);
            return 1;
        }
        total += t;
        if (fastest < 0 || t < fastest)
            fastest = t;
    }
    printf("GUEST_XSBENCH %s %lld %lld\n", test, total / iterations, fastest);
    return 0;
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 1;
    if (iterations <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: xq-xsbench ITERATIONS [ROUNDS]\n");
        return 2;
    }
    struct xs_handle *xs = xs_open(0);
    if (!xs) {
        perror("xq-xsbench: xs_open");
        return 1;
    }
    /* Fully buffered (a console is line-buffered): printed at the end. */
    static char out[1 << 16];
    setvbuf(stdout, out, _IOFBF, sizeof out);
    int bad = 0;
    for (int r = 0; r < rounds && !bad; r++) {
        bad |= run(xs, "write-1", 1, 1, iterations);
        bad |= run(xs, "write-2000", 1, 2000, iterations);
        bad |= run(xs, "read-1", 0, 1, iterations);
        bad |= run(xs, "read-2000", 0, 2000, iterations);
    }
    fflush(stdout);
    xs_close(xs);
    return bad;
}
