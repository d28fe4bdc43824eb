/*
 * The C bridge over libxenctrl and libxenguest. See include/cxen.h.
 *
 * Written for swxl from Xen's public headers and the documented order of
 * domain building; no code is taken from Xen's toolstack.
 */
#define _GNU_SOURCE
#define __XEN_TOOLS__ 1
#include "cxen.h"
#include "cxen_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>
#include <xen/hvm/params.h>

/* The event channel limit libxl gives a guest unless told otherwise. */
#define CXEN_DEFAULT_MAX_EVTCHN_PORT 1023
/* Grant table interface version x86 guests may use. */
#define CXEN_GRANT_VERSION 2

struct cxen_handle {
    xentoollog_logger logger;   /* first: Xen calls us back with this pointer */
    cxen_log_fn log;
    xc_interface *xch;
    char last_error[1024];
    char first_error[1024];     /* the operation's first error: often the cause */
    /* Where libxc's progress goes while a save runs (else: the log). */
    cxen_progress_fn progress;
    void *progress_ctx;
};

/* ---- logging ------------------------------------------------------- */

static int map_level(xentoollog_level l)
{
    switch (l) {
    case XTL_DEBUG: return CXEN_LOG_DEBUG;
    case XTL_VERBOSE:
    case XTL_DETAIL: return CXEN_LOG_VERBOSE;
    case XTL_PROGRESS:
    case XTL_INFO: return CXEN_LOG_INFO;
    case XTL_NOTICE: return CXEN_LOG_NOTICE;
    case XTL_WARN: return CXEN_LOG_WARNING;
    case XTL_ERROR: return CXEN_LOG_ERROR;
    default: return CXEN_LOG_CRITICAL;
    }
}

static void emit(cxen_handle *h, int level, const char *context, const char *msg)
{
    if (level >= CXEN_LOG_ERROR) {
        snprintf(h->last_error, sizeof h->last_error, "%s", msg);
        if (!h->first_error[0])
            snprintf(h->first_error, sizeof h->first_error, "%s", msg);
    }
    if (h->log)
        h->log(level, context ? context : "", msg);
}

/* libxenguest's errors read "panic: xg_dom_core.c:689: xc_dom_find_loader: ...";
 * people need the part after the source position. */
static const char *without_source_position(const char *msg)
{
    const char *p = msg;
    if (strncmp(p, "panic: ", 7) == 0)
        p += 7;
    const char *colon = strchr(p, ':');
    if (colon && colon > p && colon - p < 64 && colon[1] >= '0' && colon[1] <= '9') {
        const char *q = colon + 1;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q[0] == ':' && q[1] == ' ' && memchr(p, '.', (size_t)(colon - p)))
            return q + 2;
    }
    return msg;
}

static void logger_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                            const char *context, const char *format, va_list al)
{
    cxen_handle *h = (cxen_handle *)lg;
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, format, al);
    if (n < 0)
        return;
    /* Xen's messages often end in a newline; ours never do. */
    size_t len = strnlen(msg, sizeof msg);
    while (len > 0 && msg[len - 1] == '\n')
        msg[--len] = '\0';
    if (errnoval >= 0 && len < sizeof msg - 1)
        snprintf(msg + len, sizeof msg - len, ": %s", strerror(errnoval));
    emit(h, map_level(level), context, without_source_position(msg));
}

static void logger_progress(xentoollog_logger *lg, const char *context,
                            const char *doing_what, int percent,
                            unsigned long done, unsigned long total)
{
    cxen_handle *h = (cxen_handle *)lg;
    if (h->progress && total > 0) {
        h->progress(h->progress_ctx, done, total);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %d%%", doing_what ? doing_what : "", percent);
    emit(h, CXEN_LOG_DEBUG, context, msg);
}

static void logger_destroy(xentoollog_logger *lg) { (void)lg; }

/* Records an error of our own (not logged by Xen) and returns -err. */
static int fail(cxen_handle *h, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(cxen_handle *h, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[600];
    snprintf(full, sizeof full, "%s: %s", msg, strerror(err));
    emit(h, CXEN_LOG_ERROR, "cxen", full);
    return -err;
}

/* errno after a failed libxc call, never 0. */
static int err_now(void) { return errno ? errno : EIO; }

/* Every operation starts with no error: cxen_last_error() then describes
 * this operation's failure, never an earlier one's. */
static cxen_handle *begin(cxen_handle *h)
{
    h->last_error[0] = '\0';
    h->first_error[0] = '\0';
    return h;
}

/* ---- for the other files of the bridge (cxen_private.h) ------------ */

xc_interface *cxen__xch(cxen_handle *h) { return h->xch; }
void cxen__begin(cxen_handle *h) { begin(h); }
int cxen__err_now(void) { return err_now(); }

void cxen__trace(const char *what)
{
    static int enabled = -1;
    if (enabled < 0)
        enabled = getenv("SWXL_TRACE_TIMES") != NULL;
    if (!enabled)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long ns = (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
    struct rusage usage;
    long faults = getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_minflt : -1;
    char line[256];
    int n = snprintf(line, sizeof line, "swxl-trace: %llu.%llu bridge: %s [%ld]\n", ns / 1000000, (ns / 100000) % 10, what, faults);
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int cxen__fail(cxen_handle *h, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(h, err, "%s", msg);
}

int cxen__fail_after_xen(cxen_handle *h, int err, const char *what)
{
    if (h->last_error[0]) {
        char full[sizeof h->last_error];
        snprintf(full, sizeof full, "%s: %s", what, h->last_error);
        emit(h, CXEN_LOG_ERROR, "cxen", full);
        return -err;
    }
    return fail(h, err, "%s", what);
}

int cxen__fail_at_first_error(cxen_handle *h, int err, const char *what)
{
    if (h->first_error[0] && strcmp(h->first_error, h->last_error) != 0) {
        char full[sizeof h->last_error];
        snprintf(full, sizeof full, "%s: %.400s (then: %.400s)", what, h->first_error, h->last_error);
        emit(h, CXEN_LOG_ERROR, "cxen", full);
        return -err;
    }
    return cxen__fail_after_xen(h, err, what);
}

void cxen__set_progress(cxen_handle *h, cxen_progress_fn fn, void *ctx)
{
    h->progress = fn;
    h->progress_ctx = ctx;
}

/* ---- handle -------------------------------------------------------- */

int cxen_open(cxen_handle **out, cxen_log_fn log)
{
    *out = NULL;
    cxen_handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->logger.vmessage = logger_vmessage;
    h->logger.progress = logger_progress;
    h->logger.destroy = logger_destroy;
    h->log = log;
    errno = 0;
    h->xch = xc_interface_open(&h->logger, &h->logger, 0);
    if (!h->xch) {
        int e = err_now();
        free(h);
        return -e;
    }
    *out = h;
    return 0;
}

void cxen_close(cxen_handle *h)
{
    if (!h)
        return;
    xc_interface_close(h->xch);
    free(h);
}

const char *cxen_last_error(const cxen_handle *h)
{
    return h ? h->last_error : "";
}

/* ---- host ---------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src, size_t srccap)
{
    size_t n = strnlen(src, srccap);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int cxen_version(cxen_handle *h, struct cxen_version *out)
{
    begin(h);
    memset(out, 0, sizeof *out);
    int v = xc_version(h->xch, XENVER_version, NULL);
    if (v < 0)
        return fail(h, err_now(), "xc_version");
    out->major = (uint32_t)v >> 16;
    out->minor = (uint32_t)v & 0xffff;
    int ps = xc_version(h->xch, XENVER_pagesize, NULL);
    out->pagesize = ps > 0 ? (uint32_t)ps : 4096;

    xen_extraversion_t extra;
    xen_capabilities_info_t caps;
    xen_changeset_info_t cs;
    xen_commandline_t cmd;
    xen_compile_info_t ci;
    xen_platform_parameters_t pp;
    memset(&extra, 0, sizeof extra);
    memset(&caps, 0, sizeof caps);
    memset(&cs, 0, sizeof cs);
    memset(&cmd, 0, sizeof cmd);
    memset(&ci, 0, sizeof ci);
    memset(&pp, 0, sizeof pp);
    if (xc_version(h->xch, XENVER_extraversion, &extra) < 0 ||
        xc_version(h->xch, XENVER_capabilities, &caps) < 0 ||
        xc_version(h->xch, XENVER_changeset, &cs) < 0 ||
        xc_version(h->xch, XENVER_compile_info, &ci) < 0 ||
        xc_version(h->xch, XENVER_platform_parameters, &pp) < 0)
        return fail(h, err_now(), "xc_version");
    /* The command line may be hidden from us; not an error. */
    if (xc_version(h->xch, XENVER_commandline, &cmd) < 0)
        cmd[0] = '\0';
    copy_str(out->extra, sizeof out->extra, extra, sizeof extra);
    copy_str(out->capabilities, sizeof out->capabilities, caps, sizeof caps);
    copy_str(out->changeset, sizeof out->changeset, cs, sizeof cs);
    copy_str(out->commandline, sizeof out->commandline, cmd, sizeof cmd);
    copy_str(out->compiler, sizeof out->compiler, ci.compiler, sizeof ci.compiler);
    copy_str(out->compile_by, sizeof out->compile_by, ci.compile_by, sizeof ci.compile_by);
    copy_str(out->compile_domain, sizeof out->compile_domain, ci.compile_domain,
             sizeof ci.compile_domain);
    copy_str(out->compile_date, sizeof out->compile_date, ci.compile_date,
             sizeof ci.compile_date);
    out->virt_start = pp.virt_start;

    /* The build id, if Xen was linked with one: raw bytes, shown as hex. */
    _Alignas(xen_build_id_t) unsigned char raw[sizeof(xen_build_id_t) + 64];
    xen_build_id_t *bid = (xen_build_id_t *)raw;
    memset(raw, 0, sizeof raw);
    bid->len = sizeof raw - sizeof(xen_build_id_t);
    int n = xc_version(h->xch, XENVER_build_id, bid);
    for (int i = 0; i < n && i < 64; i++)
        snprintf(out->build_id + 2 * i, 3, "%02x", bid->buf[i]);
    return 0;
}

static const char *scheduler_name(int id)
{
    switch (id) {
    case XEN_SCHEDULER_CREDIT: return "credit";
    case XEN_SCHEDULER_CREDIT2: return "credit2";
    case XEN_SCHEDULER_ARINC653: return "arinc653";
    case XEN_SCHEDULER_RTDS: return "rtds";
    case XEN_SCHEDULER_NULL: return "null";
    default: return "unknown";
    }
}

int cxen_physinfo(cxen_handle *h, struct cxen_physinfo *out)
{
    begin(h);
    memset(out, 0, sizeof *out);
    xc_physinfo_t pi;
    memset(&pi, 0, sizeof pi);
    if (xc_physinfo(h->xch, &pi) != 0)
        return fail(h, err_now(), "xc_physinfo");
    out->threads_per_core = pi.threads_per_core;
    out->cores_per_socket = pi.cores_per_socket;
    out->nr_cpus = pi.nr_cpus;
    out->max_cpu_id = pi.max_cpu_id;
    out->nr_nodes = pi.nr_nodes;
    out->max_node_id = pi.max_node_id;
    out->cpu_khz = pi.cpu_khz;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_hvm) out->capabilities |= CXEN_CAP_HVM;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_pv) out->capabilities |= CXEN_CAP_PV;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_directio) out->capabilities |= CXEN_CAP_DIRECTIO;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_hap) out->capabilities |= CXEN_CAP_HAP;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_shadow) out->capabilities |= CXEN_CAP_SHADOW;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share)
        out->capabilities |= CXEN_CAP_IOMMU_HAP_PT_SHARE;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_vmtrace) out->capabilities |= CXEN_CAP_VMTRACE;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_vpmu) out->capabilities |= CXEN_CAP_VPMU;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v1) out->capabilities |= CXEN_CAP_GNTTAB_V1;
    if (pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2) out->capabilities |= CXEN_CAP_GNTTAB_V2;
    out->total_pages = pi.total_pages;
    out->free_pages = pi.free_pages;
    out->scrub_pages = pi.scrub_pages;
    out->outstanding_pages = pi.outstanding_pages;
    memcpy(out->hw_cap, pi.hw_cap, sizeof out->hw_cap);
    int sched = 0;
    if (xc_sched_id(h->xch, &sched) == 0)
        snprintf(out->scheduler, sizeof out->scheduler, "%s", scheduler_name(sched));
    /* Memory sharing may be compiled out of Xen: then nothing is shared. */
    long shared = xc_sharing_freed_pages(h->xch);
    out->sharing_freed_pages = shared > 0 ? (uint64_t)shared : 0;
    shared = xc_sharing_used_frames(h->xch);
    out->sharing_used_frames = shared > 0 ? (uint64_t)shared : 0;
    xc_cpumap_t free_map = xc_cpupool_freeinfo(h->xch);
    if (free_map) {
        for (uint32_t cpu = 0; cpu <= pi.max_cpu_id; cpu++)
            if (free_map[cpu / 8] & (1u << (cpu % 8)))
                out->free_cpus++;
        free(free_map);
    }
    return 0;
}

int cxen_read_console(cxen_handle *h, char *buf, uint32_t *len, int clear)
{
    begin(h);
    unsigned int n = *len;
    *len = 0;
    if (xc_readconsolering(h->xch, buf, &n, clear, 0, NULL) != 0)
        return fail(h, err_now(), "xc_readconsolering");
    *len = n;
    return 0;
}

/* ---- domains ------------------------------------------------------- */

int cxen_domain_create(cxen_handle *h, const struct cxen_create *spec, uint32_t *domid)
{
    begin(h);
    *domid = 0;
    if (spec->max_vcpus == 0)
        return fail(h, EINVAL, "a domain needs at least one vcpu");

    struct xen_domctl_createdomain cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ssidref = spec->ssidref;
    memcpy(cfg.handle, spec->uuid, sizeof cfg.handle);
    cfg.max_vcpus = spec->max_vcpus;
    cfg.max_evtchn_port = spec->max_evtchn_port ? spec->max_evtchn_port
                                                : CXEN_DEFAULT_MAX_EVTCHN_PORT;
    cfg.max_grant_frames = spec->max_grant_frames;
    cfg.max_maptrack_frames = spec->max_maptrack_frames;
    cfg.grant_opts = XEN_DOMCTL_GRANT_version(CXEN_GRANT_VERSION);
    switch (spec->type) {
    case CXEN_DOMAIN_PV:
        break;
    case CXEN_DOMAIN_PVH:
        cfg.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
        cfg.arch.emulation_flags = XEN_X86_EMU_LAPIC;
        break;
    default:
        return fail(h, EINVAL, "unknown domain type %d", spec->type);
    }

    uint32_t id = 0;   /* 0 asks Xen to choose */
    if (xc_domain_create(h->xch, &id, &cfg) != 0)
        return fail(h, err_now(), "xc_domain_create");

    const char *what = NULL;
    if (spec->type == CXEN_DOMAIN_PV && spec->max_memkb &&
        xc_domain_set_memmap_limit(h->xch, id, spec->max_memkb) != 0)
        what = "xc_domain_set_memmap_limit";
    else if (xc_domain_set_tsc_info(h->xch, id, 0 /* default mode */, 0, 0, 0) != 0)
        what = "xc_domain_set_tsc_info";
    else if (xc_cpuid_apply_policy(h->xch, id, false, NULL, 0, true, false, false,
                                   NULL, NULL) != 0)
        what = "xc_cpuid_apply_policy";
    if (what) {
        int err = err_now();
        xc_domain_destroy(h->xch, id);
        return fail(h, err, "%s (domain %u removed)", what, id);
    }
    *domid = id;
    return 0;
}

int cxen_domain_set_max_memory(cxen_handle *h, uint32_t domid, uint64_t kib)
{
    begin(h);
    return xc_domain_setmaxmem(h->xch, domid, kib) == 0
        ? 0 : fail(h, err_now(), "set max memory of domain %u to %llu KiB", domid,
                   (unsigned long long)kib);
}

int cxen_domain_set_max_vcpus(cxen_handle *h, uint32_t domid, uint32_t count)
{
    begin(h);
    return xc_domain_max_vcpus(h->xch, domid, count) == 0
        ? 0 : fail(h, err_now(), "set max vcpus of domain %u to %u", domid, count);
}

int cxen_build_pv(cxen_handle *h, uint32_t domid, const struct cxen_pv_build *b,
                  struct cxen_pv_built *out)
{
    begin(h);
    memset(out, 0, sizeof *out);
    if (!b->kernel || !*b->kernel)
        return fail(h, EINVAL, "a PV domain needs a kernel");
    if (access(b->kernel, R_OK) != 0)
        return fail(h, errno, "kernel %s", b->kernel);
    if (b->ramdisk && *b->ramdisk && access(b->ramdisk, R_OK) != 0)
        return fail(h, errno, "ramdisk %s", b->ramdisk);

    xc_domaininfo_t di;
    if (xc_domain_getinfolist(h->xch, domid, 1, &di) != 1 || di.domain != domid)
        return fail(h, ESRCH, "domain %u", domid);
    if (di.flags & XEN_DOMINF_hvm_guest)
        return fail(h, EOPNOTSUPP, "swxl builds PV guests only; domain %u is PVH/HVM", domid);

    int store_port = xc_evtchn_alloc_unbound(h->xch, domid, b->store_domid);
    if (store_port < 0)
        return fail(h, err_now(), "xenstore event channel");
    int console_port = xc_evtchn_alloc_unbound(h->xch, domid, b->console_domid);
    if (console_port < 0)
        return fail(h, err_now(), "console event channel");

    struct xc_dom_image *dom = xc_dom_allocate(h->xch, b->cmdline, b->features);
    if (!dom)
        return fail(h, err_now(), "xc_dom_allocate");
    dom->container_type = XC_DOM_PV_CONTAINER;

    const char *what = NULL;
    if (xc_dom_kernel_file(dom, b->kernel) != 0)
        what = "loading the kernel";
    else if (b->ramdisk && *b->ramdisk && xc_dom_module_file(dom, b->ramdisk, NULL) != 0)
        what = "loading the ramdisk";
    if (!what) {
        dom->flags = 0;
        dom->console_evtchn = (unsigned int)console_port;
        dom->console_domid = b->console_domid;
        dom->xenstore_evtchn = (unsigned int)store_port;
        dom->xenstore_domid = b->store_domid;
        dom->max_vcpus = b->max_vcpus;
        dom->claim_enabled = 0;
        if (xc_dom_boot_xen_init(dom, h->xch, domid) != 0)
            what = "xc_dom_boot_xen_init";
        else if (xc_dom_parse_image(dom) != 0)
            what = "parsing the kernel image";
        else if (xc_dom_mem_init(dom, (unsigned int)(b->target_memkb / 1024)) != 0)
            what = "xc_dom_mem_init";
        else if (xc_dom_boot_mem_init(dom) != 0)
            what = "allocating the guest's memory";
        else if (xc_dom_build_image(dom) != 0)
            what = "xc_dom_build_image";
        else if (xc_dom_boot_image(dom) != 0)
            what = "xc_dom_boot_image";
        else if (xc_dom_gnttab_init(dom) != 0)
            what = "xc_dom_gnttab_init";
    }
    if (what) {
        int err = err_now();
        xc_dom_release(dom);
        /* Xen logged the details: name the step and keep its message
         * (errno is often stale after libxenguest's own checks). */
        if (h->last_error[0]) {
            char full[sizeof h->last_error];
            snprintf(full, sizeof full, "%s: %s", what, h->last_error);
            emit(h, CXEN_LOG_ERROR, "cxen", full);
            return -err;
        }
        return fail(h, err, "%s", what);
    }

    out->store_port = (uint32_t)store_port;
    out->console_port = (uint32_t)console_port;
    out->store_mfn = xc_dom_p2m(dom, dom->xenstore_pfn);
    out->console_mfn = xc_dom_p2m(dom, dom->console_pfn);
    xc_dom_release(dom);
    return 0;
}

int cxen_domain_unpause(cxen_handle *h, uint32_t domid)
{
    begin(h);
    return xc_domain_unpause(h->xch, domid) == 0 ? 0 : fail(h, err_now(), "unpause domain %u", domid);
}

int cxen_native_protocol(cxen_handle *h, uint32_t domid, char *buf, size_t cap)
{
    begin(h);
    const char *p = xc_domain_get_native_protocol(h->xch, domid);
    if (!p || cap == 0)
        return fail(h, err_now(), "native protocol of domain %u", domid);
    snprintf(buf, cap, "%s", p);
    return 0;
}

int cxen_domain_pause(cxen_handle *h, uint32_t domid)
{
    begin(h);
    return xc_domain_pause(h->xch, domid) == 0 ? 0 : fail(h, err_now(), "pause domain %u", domid);
}

int cxen_domain_destroy(cxen_handle *h, uint32_t domid)
{
    begin(h);
    return xc_domain_destroy(h->xch, domid) == 0 ? 0 : fail(h, err_now(), "destroy domain %u", domid);
}

int cxen_domain_shutdown(cxen_handle *h, uint32_t domid, int reason)
{
    begin(h);
    return xc_domain_shutdown(h->xch, domid, reason) == 0
        ? 0 : fail(h, err_now(), "shut down domain %u", domid);
}

int cxen_domain_hvm_pv_drivers(cxen_handle *h, uint32_t domid, int *available)
{
    uint64_t irq = 0;
    begin(h);
    if (xc_hvm_param_get(h->xch, domid, HVM_PARAM_CALLBACK_IRQ, &irq) != 0)
        return fail(h, err_now(), "Getting HVM callback IRQ of domain %u", domid);
    *available = irq != 0;
    return 0;
}

int cxen_domain_send_trigger(cxen_handle *h, uint32_t domid, int trigger)
{
    uint32_t xen_trigger = trigger == CXEN_TRIGGER_POWER ? XEN_DOMCTL_SENDTRIGGER_POWER
                                                         : XEN_DOMCTL_SENDTRIGGER_RESET;
    begin(h);
    return xc_domain_send_trigger(h->xch, domid, xen_trigger, 0) == 0
        ? 0 : fail(h, err_now(), "Send trigger '%s' failed", trigger == CXEN_TRIGGER_POWER ? "power" : "reset");
}

int cxen_cpu_topology(cxen_handle *h, uint32_t *out, uint32_t max)
{
    unsigned num = 0;
    begin(h);
    if (xc_cputopoinfo(h->xch, &num, NULL) != 0)
        return fail(h, err_now(), "Unable to determine number of CPUS");
    xc_cputopo_t *topo = calloc(num ? num : 1, sizeof *topo);
    if (!topo) return fail(h, ENOMEM, "cpu topology");
    if (xc_cputopoinfo(h->xch, &num, topo) != 0) {
        int e = err_now();
        free(topo);
        return fail(h, e, "CPU topology info hypercall failed");
    }
    for (unsigned i = 0; i < num && i < max; i++) {
        out[3 * i] = topo[i].core;
        out[3 * i + 1] = topo[i].socket;
        out[3 * i + 2] = topo[i].node;
    }
    free(topo);
    return (int)num;
}

int cxen_numa_info(cxen_handle *h, uint64_t *mem, uint32_t *dists, uint32_t max)
{
    unsigned num = 0;
    begin(h);
    if (xc_numainfo(h->xch, &num, NULL, NULL) != 0)
        return fail(h, err_now(), "Unable to determine number of nodes");
    xc_meminfo_t *meminfo = calloc(num ? num : 1, sizeof *meminfo);
    uint32_t *distance = calloc(num ? (size_t)num * num : 1, sizeof *distance);
    if (!meminfo || !distance) {
        free(meminfo);
        free(distance);
        return fail(h, ENOMEM, "numa info");
    }
    if (xc_numainfo(h->xch, &num, meminfo, distance) != 0) {
        int e = err_now();
        free(meminfo);
        free(distance);
        return fail(h, e, "getting numainfo");
    }
    for (unsigned i = 0; i < num && i < max; i++) {
        mem[2 * i] = meminfo[i].memsize;
        mem[2 * i + 1] = meminfo[i].memfree;
        for (unsigned j = 0; j < num && j < max; j++)
            dists[i * max + j] = distance[i * num + j];
    }
    free(meminfo);
    free(distance);
    return (int)num;
}

int cxen_pci_topology(cxen_handle *h, uint32_t *out, uint32_t max)
{
    begin(h);
    DIR *dir = opendir("/sys/bus/pci/devices");
    if (!dir) return fail(h, errno, "Cannot open /sys/bus/pci/devices");
    physdev_pci_device_t *devs = calloc(max ? max : 1, sizeof *devs);
    uint32_t *nodes = calloc(max ? max : 1, sizeof *nodes);
    if (!devs || !nodes) {
        closedir(dir);
        free(devs);
        free(nodes);
        return fail(h, ENOMEM, "pci topology");
    }
    unsigned n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < max) {
        unsigned dom, bus, dev, func;
        if (entry->d_name[0] == '.') continue;
        if (sscanf(entry->d_name, "%x:%x:%x.%u", &dom, &bus, &dev, &func) < 4) continue;
        devs[n].seg = dom;
        devs[n].bus = bus;
        devs[n].devfn = ((dev & 0x1f) << 3) | (func & 7);
        n++;
    }
    closedir(dir);
    if (n && xc_pcitopoinfo(h->xch, n, devs, nodes) != 0) {
        int e = err_now();
        free(devs);
        free(nodes);
        return fail(h, e, "PCI topology info hypercall failed");
    }
    unsigned valid = 0;
    for (unsigned i = 0; i < n; i++) {
        if (nodes[i] == XEN_INVALID_NODE_ID || nodes[i] == XEN_INVALID_DEV) continue;
        out[4 * valid] = devs[i].seg;
        out[4 * valid + 1] = devs[i].bus;
        out[4 * valid + 2] = devs[i].devfn;
        out[4 * valid + 3] = nodes[i];
        valid++;
    }
    free(devs);
    free(nodes);
    return (int)valid;
}

int cxen_domain_node_affinity(cxen_handle *h, uint32_t domid, uint64_t words[4])
{
    begin(h);
    memset(words, 0, 4 * sizeof *words);
    xc_nodemap_t map = xc_nodemap_alloc(h->xch);
    if (!map) return fail(h, err_now(), "allocating a node map");
    int nodes = xc_get_max_nodes(h->xch);
    if (xc_domain_node_getaffinity(h->xch, domid, map) != 0) {
        int e = err_now();
        free(map);
        return fail(h, e, "getting the node affinity of domain %u", domid);
    }
    for (int n = 0; n < nodes && n < 256; n++)
        if (map[n / 8] & (1u << (n % 8))) words[n / 64] |= 1ull << (n % 64);
    free(map);
    return 0;
}

static uint32_t map_flags(uint32_t f)
{
    uint32_t o = 0;
    if (f & XEN_DOMINF_dying) o |= CXEN_DOMINFO_DYING;
    if (f & XEN_DOMINF_hvm_guest) o |= CXEN_DOMINFO_HVM;
    if (f & XEN_DOMINF_shutdown) o |= CXEN_DOMINFO_SHUTDOWN;
    if (f & XEN_DOMINF_paused) o |= CXEN_DOMINFO_PAUSED;
    if (f & XEN_DOMINF_blocked) o |= CXEN_DOMINFO_BLOCKED;
    if (f & XEN_DOMINF_running) o |= CXEN_DOMINFO_RUNNING;
    if (f & XEN_DOMINF_debugged) o |= CXEN_DOMINFO_DEBUGGED;
    if (f & XEN_DOMINF_xs_domain) o |= CXEN_DOMINFO_XS_DOMAIN;
    if (f & XEN_DOMINF_hap) o |= CXEN_DOMINFO_HAP;
    return o;
}

int cxen_domain_list(cxen_handle *h, uint32_t first, struct cxen_dominfo *out, uint32_t max)
{
    begin(h);
    if (max == 0)
        return 0;
    xc_domaininfo_t *info = calloc(max, sizeof *info);
    if (!info)
        return -ENOMEM;
    int n = xc_domain_getinfolist(h->xch, first, max, info);
    if (n < 0) {
        int e = err_now();
        free(info);
        return fail(h, e, "xc_domain_getinfolist");
    }
    for (int i = 0; i < n; i++) {
        struct cxen_dominfo *d = &out[i];
        memset(d, 0, sizeof *d);
        d->domid = info[i].domain;
        d->flags = map_flags(info[i].flags);
        d->shutdown_reason = (info[i].flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
        d->nr_online_vcpus = info[i].nr_online_vcpus;
        d->max_vcpu_id = info[i].max_vcpu_id;
        d->ssidref = info[i].ssidref;
        d->cpupool = info[i].cpupool;
        d->tot_pages = info[i].tot_pages;
        d->max_pages = info[i].max_pages;
        d->shared_pages = info[i].shr_pages;
        d->cpu_time_ns = info[i].cpu_time;
        memcpy(d->uuid, info[i].handle, sizeof d->uuid);
    }
    free(info);
    return n;
}

/* A Xen cpumap (bytes, CPU n at bit n%8 of byte n/8) to our 64-bit words, and back. */
static void from_cpumap(cxen_handle *h, const uint8_t *map, uint64_t *words)
{
    int max_cpus = xc_get_max_cpus(h->xch);
    for (int i = 0; i < CXEN_CPUMAP_WORDS; i++)
        words[i] = 0;
    for (int cpu = 0; cpu < max_cpus && cpu < 64 * CXEN_CPUMAP_WORDS; cpu++)
        if (map[cpu / 8] & (1u << (cpu % 8)))
            words[cpu / 64] |= 1ull << (cpu % 64);
}

static void to_cpumap(cxen_handle *h, const uint64_t *words, uint8_t *map)
{
    int size = xc_get_cpumap_size(h->xch);
    memset(map, 0, (size_t)size);
    for (int cpu = 0; cpu < size * 8 && cpu < 64 * CXEN_CPUMAP_WORDS; cpu++)
        if (words[cpu / 64] & (1ull << (cpu % 64)))
            map[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
}

int cxen_vcpu_info(cxen_handle *h, uint32_t domid, uint32_t vcpu, struct cxen_vcpuinfo *out)
{
    begin(h);
    memset(out, 0, sizeof *out);
    xc_vcpuinfo_t vi;
    memset(&vi, 0, sizeof vi);
    if (xc_vcpu_getinfo(h->xch, domid, vcpu, &vi) != 0)
        return fail(h, err_now(), "vcpu %u of domain %u", vcpu, domid);
    out->vcpu = vcpu;
    out->cpu = vi.cpu;
    out->online = vi.online;
    out->running = vi.running;
    out->blocked = vi.blocked;
    out->cpu_time_ns = vi.cpu_time;

    xc_cpumap_t hard = xc_cpumap_alloc(h->xch);
    xc_cpumap_t soft = xc_cpumap_alloc(h->xch);
    if (!hard || !soft) {
        free(hard);
        free(soft);
        return fail(h, err_now(), "cpumap");
    }
    if (xc_vcpu_getaffinity(h->xch, domid, (int)vcpu, hard, soft,
                            XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT) == 0) {
        from_cpumap(h, hard, out->affinity);
        from_cpumap(h, soft, out->soft_affinity);
    } else {
        /* Unknown affinity: report every CPU, as Xen's default is. */
        for (int i = 0; i < CXEN_CPUMAP_WORDS; i++)
            out->affinity[i] = out->soft_affinity[i] = ~0ull;
    }
    free(hard);
    free(soft);
    return 0;
}

int cxen_vcpu_set_affinity(cxen_handle *h, uint32_t domid, uint32_t vcpu,
                           const uint64_t *hard, const uint64_t *soft, int force)
{
    begin(h);
    xc_cpumap_t hmap = xc_cpumap_alloc(h->xch);
    xc_cpumap_t smap = xc_cpumap_alloc(h->xch);
    int rc = 0;
    if (!hmap || !smap) {
        rc = fail(h, err_now(), "cpumap");
        goto out;
    }
    uint32_t flags = 0;
    if (hard) {
        to_cpumap(h, hard, hmap);
        flags |= XEN_VCPUAFFINITY_HARD;
    }
    if (soft) {
        to_cpumap(h, soft, smap);
        flags |= XEN_VCPUAFFINITY_SOFT;
    }
    if (force)
        flags |= XEN_VCPUAFFINITY_FORCE;
    if (xc_vcpu_setaffinity(h->xch, domid, (int)vcpu, hard ? hmap : NULL, soft ? smap : NULL, flags) != 0)
        rc = fail(h, err_now(), "Setting vcpu affinity");
out:
    free(hmap);
    free(smap);
    return rc;
}

/* ---- schedulers ---------------------------------------------------- */

int cxen_cpupool_list(cxen_handle *h, struct cxen_cpupool *out, uint32_t max)
{
    begin(h);
    uint32_t n = 0, next = 0;
    xc_cpupoolinfo_t *info;
    errno = 0;
    while (n < max && (info = xc_cpupool_getinfo(h->xch, next)) != NULL) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].id = info->cpupool_id;
        out[n].sched_id = info->sched_id;
        out[n].n_dom = info->n_dom;
        from_cpumap(h, info->cpumap, out[n].cpus);
        next = info->cpupool_id + 1;
        xc_cpupool_infofree(h->xch, info);
        n++;
    }
    if (n == 0 && errno && errno != ENOENT)
        return fail(h, err_now(), "cpupool info");
    return (int)n;
}

int cxen_sched_domain_get(cxen_handle *h, uint32_t domid, int sched, uint32_t *weight, uint32_t *cap)
{
    begin(h);
    if (sched == CXEN_SCHED_CREDIT) {
        struct xen_domctl_sched_credit s = {0};
        if (xc_sched_credit_domain_get(h->xch, domid, &s) != 0)
            return fail(h, err_now(), "Getting domain sched credit");
        *weight = s.weight;
        *cap = s.cap;
    } else if (sched == CXEN_SCHED_CREDIT2) {
        struct xen_domctl_sched_credit2 s = {0};
        if (xc_sched_credit2_domain_get(h->xch, domid, &s) != 0)
            return fail(h, err_now(), "Getting domain sched credit2");
        *weight = s.weight;
        *cap = s.cap;
    } else {
        return fail(h, EINVAL, "scheduler %d has no weight and cap", sched);
    }
    return 0;
}

int cxen_sched_domain_set(cxen_handle *h, uint32_t domid, int sched, uint32_t weight, uint32_t cap)
{
    begin(h);
    if (weight > 0xffff || cap > 0xffff)
        return fail(h, EINVAL, "weight %u or cap %u does not fit Xen's 16 bits", weight, cap);
    if (sched == CXEN_SCHED_CREDIT) {
        struct xen_domctl_sched_credit s = { .weight = (uint16_t)weight, .cap = (uint16_t)cap };
        if (xc_sched_credit_domain_set(h->xch, domid, &s) != 0)
            return fail(h, err_now(), "Setting domain sched credit");
    } else if (sched == CXEN_SCHED_CREDIT2) {
        struct xen_domctl_sched_credit2 s = { .weight = (uint16_t)weight, .cap = (uint16_t)cap };
        if (xc_sched_credit2_domain_set(h->xch, domid, &s) != 0)
            return fail(h, err_now(), "Setting domain sched credit2");
    } else {
        return fail(h, EINVAL, "scheduler %d has no weight and cap", sched);
    }
    return 0;
}

int cxen_sched_pool_get(cxen_handle *h, uint32_t pool, int sched,
                        uint32_t *tslice_ms, uint32_t *ratelimit_us, uint32_t *migration_delay_us)
{
    begin(h);
    *tslice_ms = *ratelimit_us = *migration_delay_us = 0;
    if (sched == CXEN_SCHED_CREDIT) {
        struct xen_sysctl_credit_schedule s;
        memset(&s, 0, sizeof s);
        if (xc_sched_credit_params_get(h->xch, pool, &s) != 0)
            return fail(h, err_now(), "getting Credit scheduler parameters");
        *tslice_ms = s.tslice_ms;
        *ratelimit_us = s.ratelimit_us;
        *migration_delay_us = s.vcpu_migr_delay_us;
    } else if (sched == CXEN_SCHED_CREDIT2) {
        struct xen_sysctl_credit2_schedule s;
        memset(&s, 0, sizeof s);
        if (xc_sched_credit2_params_get(h->xch, pool, &s) != 0)
            return fail(h, err_now(), "getting Credit2 scheduler parameters");
        *ratelimit_us = s.ratelimit_us;
    } else {
        return fail(h, EINVAL, "scheduler %d has no such parameters", sched);
    }
    return 0;
}

int cxen_sched_pool_set(cxen_handle *h, uint32_t pool, int sched,
                        uint32_t tslice_ms, uint32_t ratelimit_us, uint32_t migration_delay_us)
{
    begin(h);
    if (sched == CXEN_SCHED_CREDIT) {
        struct xen_sysctl_credit_schedule s;
        memset(&s, 0, sizeof s);
        s.tslice_ms = tslice_ms;
        s.ratelimit_us = ratelimit_us;
        s.vcpu_migr_delay_us = migration_delay_us;
        if (xc_sched_credit_params_set(h->xch, pool, &s) != 0)
            return fail(h, err_now(), "Setting Credit scheduler parameters");
    } else if (sched == CXEN_SCHED_CREDIT2) {
        struct xen_sysctl_credit2_schedule s;
        memset(&s, 0, sizeof s);
        s.ratelimit_us = ratelimit_us;
        if (xc_sched_credit2_params_set(h->xch, pool, &s) != 0)
            return fail(h, err_now(), "Setting Credit2 scheduler parameters");
    } else {
        return fail(h, EINVAL, "scheduler %d has no such parameters", sched);
    }
    return 0;
}

/* ---- diagnostics --------------------------------------------------- */

int cxen_send_debug_keys(cxen_handle *h, const char *keys)
{
    begin(h);
    /* xc_send_debug_keys takes a non-const string; it only reads it. */
    char *copy = strdup(keys);
    if (!copy)
        return fail(h, ENOMEM, "sending debug keys");
    int rc = xc_send_debug_keys(h->xch, copy);
    int e = err_now();
    free(copy);
    if (rc < 0)
        return fail(h, e, "sending debug keys");
    return 0;
}

int cxen_domain_dumpcore(cxen_handle *h, uint32_t domid, const char *path)
{
    begin(h);
    errno = 0;
    int rc = xc_domain_dumpcore(h->xch, domid, path);
    if (rc < 0) {
        /* libxenguest fails some checks without an errno (a PV guest that
         * has never run has no p2m yet: "p2m_size < nr_pages"); its own
         * message, logged above, then says why. */
        int e = rc < -1 ? -rc : (errno ? errno : EIO);
        if (!h->last_error[0])
            return fail(h, e, "Core dumping domain to %s", path);
        return -e;
    }
    return 0;
}

uint32_t cxen_core_vcpu_context_size(void)
{
    return (uint32_t)sizeof(vcpu_guest_context_any_t);
}
