/*
 * xsd-loop TEST N: N iterations of one kind of request through libxenstore
 * (the daemon at XENSTORED_PATH), for scripts/bench-xenstored-cost.
 *
 *   read-1, read-2000    XS_READ of a node holding 1 or 2000 bytes
 *   write-1, write-2000  XS_WRITE of an existing node
 *   dir                  XS_DIRECTORY of a node with 10 children
 *   create-rm            XS_WRITE creating a node, then XS_RM of it (2 requests)
 *   ta-empty             XS_TRANSACTION_START, _END (2 requests)
 *   ta-rmw               start, read, write, end (4 requests)
 *
 * The nodes (under /xsd-loop) are made first. With XSD_LOOP_WAIT set, it
 * prints "ready" on standard error once connected and set up, and waits for
 * a line on standard input before the timed loop (so that a profiler can be
 * zeroed in between). Exit status 0 when every request succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

static int one(struct xs_handle *xs, const char *t, const char *v2000)
{
    unsigned int len, num;
    char *r;
    char **d;
    xs_transaction_t x;
    bool ok;

    if (!strcmp(t, "read-1") || !strcmp(t, "read-2000")) {
        unsigned int want = strcmp(t, "read-1") ? 2000 : 1;
        r = xs_read(xs, XBT_NULL, want == 1 ? "/xsd-loop/r1" : "/xsd-loop/r2000", &len);
        ok = r && len == want;
        free(r);
        return ok ? 0 : 1;
    }
    if (!strcmp(t, "write-1"))
        return xs_write(xs, XBT_NULL, "/xsd-loop/w1", "y", 1) ? 0 : 1;
    if (!strcmp(t, "write-2000"))
        return xs_write(xs, XBT_NULL, "/xsd-loop/w2000", v2000, 2000) ? 0 : 1;
    if (!strcmp(t, "dir")) {
        d = xs_directory(xs, XBT_NULL, "/xsd-loop/d", &num);
        ok = d && num == 10;
        free(d);
        return ok ? 0 : 1;
    }
    if (!strcmp(t, "create-rm"))
        return xs_write(xs, XBT_NULL, "/xsd-loop/c/x", "z", 1) && xs_rm(xs, XBT_NULL, "/xsd-loop/c/x") ? 0 : 1;
    if (!strcmp(t, "ta-empty")) {
        x = xs_transaction_start(xs);
        return x && xs_transaction_end(xs, x, false) ? 0 : 1;
    }
    if (!strcmp(t, "ta-rmw")) {
        x = xs_transaction_start(xs);
        if (!x)
            return 1;
        r = xs_read(xs, x, "/xsd-loop/r1", &len);
        ok = r && xs_write(xs, x, "/xsd-loop/tw", "q", 1);
        free(r);
        return ok && xs_transaction_end(xs, x, false) ? 0 : 1;
    }
    fprintf(stderr, "xsd-loop: unknown test %s\n", t);
    return 2;
}

int main(int argc, char **argv)
{
    static char v2000[2000];
    struct xs_handle *xs;
    char path[64];
    int i, n, rc;

    if (argc != 3) {
        fprintf(stderr, "usage: xsd-loop TEST N\n");
        return 2;
    }
    n = atoi(argv[2]);
    xs = xs_open(0);
    if (!xs) {
        perror("xsd-loop: xs_open");
        return 1;
    }
    memset(v2000, 'x', sizeof v2000);
    if (!xs_write(xs, XBT_NULL, "/xsd-loop/r1", "x", 1) || !xs_write(xs, XBT_NULL, "/xsd-loop/r2000", v2000, 2000))
        return 1;
    for (i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "/xsd-loop/d/child%d", i);
        if (!xs_write(xs, XBT_NULL, path, "", 0))
            return 1;
    }
    if (getenv("XSD_LOOP_WAIT")) {
        fprintf(stderr, "ready\n");
        if (getchar() == EOF)
            return 1;
    }
    for (i = 0; i < n; i++) {
        rc = one(xs, argv[1], v2000);
        if (rc) {
            fprintf(stderr, "xsd-loop: %s failed at iteration %d\n", argv[1], i);
            return rc;
        }
    }
    xs_close(xs);
    return 0;
}
