/*
 * cxen-probe: exercises swxl's C bridge (Sources/CXen) on real Xen, apart
 * from the Swift layers, so the harness proves the bridge itself:
 *
 *   cxen-probe info                      version and physinfo
 *   cxen-probe list                      domains with xl's state letters
 *   cxen-probe dmesg                     the hypervisor console ring
 *   cxen-probe create NAME KERNEL RAMDISK CMDLINE MEM_MB
 *                                        create, build, record the minimum
 *                                        in xenstore, introduce, unpause;
 *                                        prints the domid
 *   cxen-probe fail-create KERNEL        a create with a missing or bad kernel
 *                                        must fail and leave no domain behind
 *   cxen-probe destroy DOMID
 *   cxen-probe wait-scrub                until Xen has scrubbed freed memory
 *   cxen-probe save DOMID FILE           libxc's stream of the guest into FILE
 *                                        (the suspend handshake through
 *                                        xenstore), then destroy it
 *   cxen-probe restore NAME FILE MEM_MB  a new domain from FILE (the probe's
 *                                        uuid), the minimum in xenstore,
 *                                        introduce, unpause; prints the domid
 *
 * A test aid, not part of swxl: xenstore goes through Xen's libxenstore.
 */
#include "cxen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

/* PROBE_TIMING=1: the milliseconds each step took, on stderr. */
static double t_last;
static double ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static void lap(const char *step)
{
    double t = ms_now();
    if (getenv("PROBE_TIMING") && t_last > 0)
        fprintf(stderr, "probe: %-14s %8.1f ms\n", step, t - t_last);
    t_last = t;
}

static double ms_now(void);

/* Warnings and errors on stderr; everything, timed, with PROBE_DEBUG=1. */
static void log_line(int level, const char *context, const char *message)
{
    if (getenv("PROBE_DEBUG"))
        fprintf(stderr, "probe: %10.1f xen %s: %s\n", ms_now(), context, message);
    else if (level >= CXEN_LOG_WARNING)
        fprintf(stderr, "probe: xen %s: %s\n", context, message);
}

static cxen_handle *h;

static int die(const char *what, int rc)
{
    fprintf(stderr, "probe: %s failed (%d, %s): %s\n", what, rc, strerror(-rc), cxen_last_error(h));
    return 1;
}

static int count_domains(void)
{
    struct cxen_dominfo d[64];
    return cxen_domain_list(h, 0, d, 64);
}

static int cmd_info(void)
{
    struct cxen_version v;
    struct cxen_physinfo p;
    int rc;
    if ((rc = cxen_version(h, &v)) < 0) return die("version", rc);
    if ((rc = cxen_physinfo(h, &p)) < 0) return die("physinfo", rc);
    printf("xen_version %u.%u%s\nxen_caps %s\nnr_cpus %u\ntotal_memory %llu\nfree_memory %llu\nscheduler %s\n",
           v.major, v.minor, v.extra, v.capabilities, p.nr_cpus,
           (unsigned long long)(p.total_pages / 256), (unsigned long long)(p.free_pages / 256),
           p.scheduler);
    return 0;
}

static int cmd_list(void)
{
    struct cxen_dominfo d[64];
    int n = cxen_domain_list(h, 0, d, 64);
    if (n < 0) return die("list", n);
    for (int i = 0; i < n; i++) {
        uint32_t f = d[i].flags;
        int crashed = (f & CXEN_DOMINFO_SHUTDOWN) && d[i].shutdown_reason == CXEN_SHUTDOWN_CRASH;
        printf("%u %llu %u %c%c%c%c%c%c\n", d[i].domid, (unsigned long long)(d[i].tot_pages / 256),
               d[i].nr_online_vcpus,
               f & CXEN_DOMINFO_RUNNING ? 'r' : '-', f & CXEN_DOMINFO_BLOCKED ? 'b' : '-',
               f & CXEN_DOMINFO_PAUSED ? 'p' : '-',
               (f & CXEN_DOMINFO_SHUTDOWN) && !crashed ? 's' : '-', crashed ? 'c' : '-',
               f & CXEN_DOMINFO_DYING ? 'd' : '-');
    }
    return 0;
}

static int cmd_dmesg(void)
{
    static char buf[1 << 20];
    uint32_t len = sizeof buf;
    int rc = cxen_read_console(h, buf, &len, 0);
    if (rc < 0) return die("read console", rc);
    fwrite(buf, 1, len, stdout);
    return 0;
}

static int xs_put(struct xs_handle *xs, xs_transaction_t t, uint32_t domid, const char *rel,
                  const char *value)
{
    char path[256];
    snprintf(path, sizeof path, "/local/domain/%u/%s", domid, rel);
    return xs_write(xs, t, path, value, strlen(value)) ? 0 : -1;
}

static int cmd_create(const char *name, const char *kernel, const char *ramdisk,
                      const char *cmdline, unsigned mem_mb)
{
    struct cxen_create c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 16; i++) c.uuid[i] = (uint8_t)(0x50 + i);
    c.type = CXEN_DOMAIN_PV;
    c.max_vcpus = 1;
    c.max_memkb = (uint64_t)mem_mb * 1024;
    c.max_grant_frames = -1;
    c.max_maptrack_frames = -1;
    uint32_t domid;
    lap("start");
    int rc = cxen_domain_create(h, &c, &domid);
    if (rc < 0) return die("create", rc);
    lap("create");
    const char *step = "set max vcpus";
    if ((rc = cxen_domain_set_max_vcpus(h, domid, 1)) < 0) goto fail;
    step = "set max memory";
    const char *slack = getenv("PROBE_MAXMEM_SLACK_KB");   /* libxl adds 1024 */
    if ((rc = cxen_domain_set_max_memory(h, domid, c.max_memkb + (slack ? atoi(slack) : 1024))) < 0)
        goto fail;
    char unpacked[4096];
    const char *cache = getenv("PROBE_KERNEL_CACHE");
    if (cache && cxen_kernel_uncompressed(kernel, cache, unpacked, sizeof unpacked) == 0)
        kernel = unpacked;
    lap("kernel-cache");
    struct cxen_pv_build b = { .kernel = kernel, .ramdisk = ramdisk, .cmdline = cmdline,
                               .target_memkb = c.max_memkb, .max_vcpus = 1 };
    struct cxen_pv_built out;
    step = "build";
    lap("limits");
    if ((rc = cxen_build_pv(h, domid, &b, &out)) < 0) goto fail;
    lap("build");

    step = "xenstore";
    struct xs_handle *xs = xs_open(0);
    if (!xs) { rc = -errno; goto fail; }
    char dompath[64], v[64];
    snprintf(dompath, sizeof dompath, "/local/domain/%u", domid);
    xs_transaction_t t = xs_transaction_start(xs);
    struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { domid, XS_PERM_READ } };
    struct xs_permissions rw[1] = { { domid, XS_PERM_NONE } };
    xs_mkdir(xs, t, dompath);
    xs_set_permissions(xs, t, dompath, ro, 2);
    xs_put(xs, t, domid, "name", name);
    snprintf(v, sizeof v, "%u", domid); xs_put(xs, t, domid, "domid", v);
    snprintf(v, sizeof v, "%u", out.store_port); xs_put(xs, t, domid, "store/port", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)out.store_mfn); xs_put(xs, t, domid, "store/ring-ref", v);
    snprintf(v, sizeof v, "%u", out.console_port); xs_put(xs, t, domid, "console/port", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)out.console_mfn); xs_put(xs, t, domid, "console/ring-ref", v);
    xs_put(xs, t, domid, "console/type", "xenconsoled");
    xs_put(xs, t, domid, "console/output", "pty");
    xs_put(xs, t, domid, "console/limit", "1048576");
    char p[96];
    snprintf(p, sizeof p, "%s/data", dompath);
    xs_mkdir(xs, t, p);
    xs_set_permissions(xs, t, p, rw, 1);
    /* where the guest answers a suspend request (cxen-probe save) */
    snprintf(p, sizeof p, "%s/control/shutdown", dompath);
    xs_write(xs, t, p, "", 0);
    xs_set_permissions(xs, t, p, rw, 1);
    if (!xs_transaction_end(xs, t, false) ||
        !xs_introduce_domain(xs, domid, out.store_mfn, out.store_port)) {
        rc = -errno;
        xs_close(xs);
        goto fail;
    }
    xs_close(xs);
    lap("xenstore");
    step = "unpause";
    if ((rc = cxen_domain_unpause(h, domid)) < 0) goto fail;
    lap("unpause");
    printf("%u\n", domid);
    return 0;
fail:
    die(step, rc);
    cxen_domain_destroy(h, domid);
    return 1;
}

/* The minimum xenstore a PV guest needs, then introduce (create's, for restore). */
static int publish(uint32_t domid, const char *name, uint32_t store_port, uint64_t store_mfn,
                   uint32_t console_port, uint64_t console_mfn)
{
    struct xs_handle *xs = xs_open(0);
    if (!xs) return -errno;
    char dompath[64], v[64], p[96];
    snprintf(dompath, sizeof dompath, "/local/domain/%u", domid);
    xs_transaction_t t = xs_transaction_start(xs);
    struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { domid, XS_PERM_READ } };
    struct xs_permissions rw[1] = { { domid, XS_PERM_NONE } };
    xs_mkdir(xs, t, dompath);
    xs_set_permissions(xs, t, dompath, ro, 2);
    xs_put(xs, t, domid, "name", name);
    snprintf(v, sizeof v, "%u", domid); xs_put(xs, t, domid, "domid", v);
    snprintf(v, sizeof v, "%u", store_port); xs_put(xs, t, domid, "store/port", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)store_mfn); xs_put(xs, t, domid, "store/ring-ref", v);
    snprintf(v, sizeof v, "%u", console_port); xs_put(xs, t, domid, "console/port", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)console_mfn); xs_put(xs, t, domid, "console/ring-ref", v);
    xs_put(xs, t, domid, "console/type", "xenconsoled");
    xs_put(xs, t, domid, "console/output", "pty");
    xs_put(xs, t, domid, "console/limit", "1048576");
    snprintf(p, sizeof p, "%s/data", dompath);
    xs_mkdir(xs, t, p);
    xs_set_permissions(xs, t, p, rw, 1);
    snprintf(p, sizeof p, "%s/control/shutdown", dompath);
    xs_write(xs, t, p, "", 0);
    xs_set_permissions(xs, t, p, rw, 1);
    int rc = 0;
    if (!xs_transaction_end(xs, t, false) || !xs_introduce_domain(xs, domid, store_mfn, store_port))
        rc = -errno;
    xs_close(xs);
    return rc;
}

/* The suspend handshake, as a toolstack does it: control/shutdown =
 * "suspend", the guest's acknowledgement (it empties the node), then the
 * hypervisor showing the domain shut down for suspend. 30 s each at most. */
struct probe_save { uint32_t domid; struct xs_handle *xs; };

static int probe_suspend(void *ctx)
{
    struct probe_save *s = ctx;
    char path[96];
    snprintf(path, sizeof path, "/local/domain/%u/control/shutdown", s->domid);
    if (!xs_write(s->xs, XBT_NULL, path, "suspend", 7)) {
        fprintf(stderr, "probe: writing %s: %s\n", path, strerror(errno));
        return 0;
    }
    lap("suspend-asked");
    int acked = 0;
    for (int i = 0; i < 3000 && !acked; i++) {
        unsigned len = 0;
        char *v = xs_read(s->xs, XBT_NULL, path, &len);
        acked = v && strcmp(v, "suspend") != 0;
        free(v);
        if (!acked) usleep(10 * 1000);
    }
    if (!acked) {
        fprintf(stderr, "probe: the guest did not acknowledge the suspend request\n");
        xs_write(s->xs, XBT_NULL, path, "", 0);
        return 0;
    }
    lap("suspend-acked");
    for (int i = 0; i < 3000; i++) {
        struct cxen_dominfo d;
        if (cxen_domain_list(h, s->domid, &d, 1) == 1 && d.domid == s->domid &&
            (d.flags & CXEN_DOMINFO_SHUTDOWN)) {
            lap("suspended");
            return d.shutdown_reason == CXEN_SHUTDOWN_SUSPEND;
        }
        usleep(10 * 1000);
    }
    fprintf(stderr, "probe: the guest acknowledged but did not suspend\n");
    return 0;
}

static void probe_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    if (getenv("PROBE_DEBUG"))
        fprintf(stderr, "probe: %10.1f progress %llu/%llu\n", ms_now(),
                (unsigned long long)done, (unsigned long long)total);
}

static int cmd_save(uint32_t domid, const char *file)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) { fprintf(stderr, "probe: %s: %s\n", file, strerror(errno)); return 1; }
    struct probe_save s = { .domid = domid, .xs = xs_open(0) };
    if (!s.xs) { fprintf(stderr, "probe: xs_open: %s\n", strerror(errno)); close(fd); return 1; }
    lap("start");
    int rc = cxen_domain_save(h, domid, fd, 0, probe_suspend, probe_progress, &s);
    lap("save");
    if (close(fd) != 0 && rc == 0) rc = -errno;
    if (rc < 0) {
        die("save", rc);
        int r2 = cxen_domain_resume(h, domid);
        fprintf(stderr, "probe: resumed the guest: %s\n", r2 < 0 ? cxen_last_error(h) : "ok");
        xs_resume_domain(s.xs, domid);
        xs_close(s.xs);
        return 1;
    }
    cxen_domain_destroy(h, domid);
    char path[64];
    snprintf(path, sizeof path, "/local/domain/%u", domid);
    xs_release_domain(s.xs, domid);
    xs_rm(s.xs, XBT_NULL, path);
    xs_close(s.xs);
    return 0;
}

static int cmd_restore(const char *name, const char *file, unsigned mem_mb)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "probe: %s: %s\n", file, strerror(errno)); return 1; }
    struct cxen_create c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 16; i++) c.uuid[i] = (uint8_t)(0x50 + i);
    c.type = CXEN_DOMAIN_PV;
    c.max_vcpus = 1;
    c.max_memkb = (uint64_t)mem_mb * 1024;
    c.max_grant_frames = -1;
    c.max_maptrack_frames = -1;
    uint32_t domid;
    lap("start");
    int rc = cxen_domain_create(h, &c, &domid);
    if (rc < 0) { close(fd); return die("create", rc); }
    const char *step = "set max vcpus";
    if ((rc = cxen_domain_set_max_vcpus(h, domid, 1)) < 0) goto fail;
    step = "set max memory";
    if ((rc = cxen_domain_set_max_memory(h, domid, c.max_memkb + 1024)) < 0) goto fail;
    struct cxen_restore r = { .expected_pages = (uint64_t)mem_mb * 256 };
    step = "restore";
    lap("create");
    if ((rc = cxen_domain_restore(h, domid, fd, &r, probe_progress, NULL)) < 0) goto fail;
    lap("restore");
    step = "xenstore";
    if ((rc = publish(domid, name, r.store_port, r.store_mfn, r.console_port, r.console_mfn)) < 0) goto fail;
    step = "unpause";
    if ((rc = cxen_domain_unpause(h, domid)) < 0) goto fail;
    lap("unpause");
    close(fd);
    printf("%u\n", domid);
    return 0;
fail:
    die(step, rc);
    close(fd);
    cxen_domain_destroy(h, domid);
    return 1;
}

/* A kernel that is not there, and one that is there but no kernel (libxenguest
 * fails inside the build): both must fail and leave no domain. */
static int cmd_fail_create(const char *bad_kernel)
{
    int before = count_domains();
    int rc = cmd_create("probe-bad", bad_kernel, NULL, "", 32);
    int after = count_domains();
    if (rc == 0) { fprintf(stderr, "probe: create with a missing kernel succeeded\n"); return 1; }
    if (before != after) { fprintf(stderr, "probe: %d domains before, %d after\n", before, after); return 1; }
    printf("failed as expected; %d domains before and after\n", after);
    return 0;
}

/* Waits until Xen has scrubbed the memory freed by destroyed domains (a
 * create on dirty memory scrubs it first, which would skew timings). */
static int cmd_wait_scrub(void)
{
    struct cxen_physinfo p;
    for (int i = 0; i < 600; i++) {
        int rc = cxen_physinfo(h, &p);
        if (rc < 0) return die("physinfo", rc);
        if (p.scrub_pages == 0) return 0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "probe: still %llu pages to scrub\n", (unsigned long long)p.scrub_pages);
    return 1;
}

int main(int argc, char **argv)
{
    int rc = cxen_open(&h, log_line);
    if (rc < 0) { fprintf(stderr, "probe: open: %s\n", strerror(-rc)); return 1; }
    int status = 2;
    if (argc == 2 && !strcmp(argv[1], "info")) status = cmd_info();
    else if (argc == 2 && !strcmp(argv[1], "list")) status = cmd_list();
    else if (argc == 2 && !strcmp(argv[1], "dmesg")) status = cmd_dmesg();
    else if (argc == 3 && !strcmp(argv[1], "fail-create")) status = cmd_fail_create(argv[2]);
    else if (argc == 2 && !strcmp(argv[1], "wait-scrub")) status = cmd_wait_scrub();
    else if (argc == 7 && !strcmp(argv[1], "create"))
        status = cmd_create(argv[2], argv[3], argv[4], argv[5], (unsigned)atoi(argv[6]));
    else if (argc == 4 && !strcmp(argv[1], "save")) status = cmd_save((uint32_t)atoi(argv[2]), argv[3]);
    else if (argc == 5 && !strcmp(argv[1], "restore"))
        status = cmd_restore(argv[2], argv[3], (unsigned)atoi(argv[4]));
    else if (argc == 3 && !strcmp(argv[1], "destroy")) {
        uint32_t domid = (uint32_t)atoi(argv[2]);
        status = (rc = cxen_domain_destroy(h, domid)) < 0 ? die("destroy", rc) : 0;
        struct xs_handle *xs = xs_open(0);
        if (xs) {
            char path[64];
            snprintf(path, sizeof path, "/local/domain/%u", domid);
            xs_release_domain(xs, domid);
            xs_rm(xs, XBT_NULL, path);
            xs_close(xs);
        }
    } else
        fprintf(stderr, "usage: see the comment at the top of cxen-probe.c\n");
    cxen_close(h);
    return status;
}
