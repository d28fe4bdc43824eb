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
 *   cxen-probe fail-create               a create with a missing kernel must
 *                                        fail and leave no domain behind
 *   cxen-probe destroy DOMID
 *
 * A test aid, not part of swxl: xenstore goes through Xen's libxenstore.
 */
#include "cxen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

static void log_line(int level, const char *context, const char *message)
{
    if (level >= CXEN_LOG_WARNING)
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
    int rc = cxen_domain_create(h, &c, &domid);
    if (rc < 0) return die("create", rc);
    const char *step = "set max vcpus";
    if ((rc = cxen_domain_set_max_vcpus(h, domid, 1)) < 0) goto fail;
    step = "set max memory";
    if ((rc = cxen_domain_set_max_memory(h, domid, c.max_memkb + 1024)) < 0) goto fail;
    struct cxen_pv_build b = { .kernel = kernel, .ramdisk = ramdisk, .cmdline = cmdline,
                               .target_memkb = c.max_memkb, .max_vcpus = 1 };
    struct cxen_pv_built out;
    step = "build";
    if ((rc = cxen_build_pv(h, domid, &b, &out)) < 0) goto fail;

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
    if (!xs_transaction_end(xs, t, false) ||
        !xs_introduce_domain(xs, domid, out.store_mfn, out.store_port)) {
        rc = -errno;
        xs_close(xs);
        goto fail;
    }
    xs_close(xs);
    step = "unpause";
    if ((rc = cxen_domain_unpause(h, domid)) < 0) goto fail;
    printf("%u\n", domid);
    return 0;
fail:
    die(step, rc);
    cxen_domain_destroy(h, domid);
    return 1;
}

static int cmd_fail_create(void)
{
    int before = count_domains();
    int rc = cmd_create("probe-bad", "/nonexistent/kernel", NULL, "", 32);
    int after = count_domains();
    if (rc == 0) { fprintf(stderr, "probe: create with a missing kernel succeeded\n"); return 1; }
    if (before != after) { fprintf(stderr, "probe: %d domains before, %d after\n", before, after); return 1; }
    printf("failed as expected; %d domains before and after\n", after);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = cxen_open(&h, log_line);
    if (rc < 0) { fprintf(stderr, "probe: open: %s\n", strerror(-rc)); return 1; }
    int status = 2;
    if (argc == 2 && !strcmp(argv[1], "info")) status = cmd_info();
    else if (argc == 2 && !strcmp(argv[1], "list")) status = cmd_list();
    else if (argc == 2 && !strcmp(argv[1], "dmesg")) status = cmd_dmesg();
    else if (argc == 2 && !strcmp(argv[1], "fail-create")) status = cmd_fail_create();
    else if (argc == 7 && !strcmp(argv[1], "create"))
        status = cmd_create(argv[2], argv[3], argv[4], argv[5], (unsigned)atoi(argv[6]));
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
