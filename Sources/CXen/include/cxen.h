#ifndef CXEN_H
#define CXEN_H
/*
 * The C bridge over libxenctrl and libxenguest: the only code in swxl that
 * includes Xen's headers. Everything here uses plain C types; no Xen type
 * crosses into Swift.
 *
 * Results are errno-style: 0 (or a count) on success, -errno on failure.
 * After a failure, cxen_last_error() holds the most recent error message
 * Xen's libraries logged (or our own description), for the user.
 *
 * Xen's log messages never go to stderr: they go to the callback given to
 * cxen_open().
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cxen_handle cxen_handle;

/* Log levels, from xentoollog's, in increasing severity. */
enum cxen_log_level {
    CXEN_LOG_DEBUG = 0,
    CXEN_LOG_VERBOSE = 1,
    CXEN_LOG_INFO = 2,
    CXEN_LOG_NOTICE = 3,
    CXEN_LOG_WARNING = 4,
    CXEN_LOG_ERROR = 5,
    CXEN_LOG_CRITICAL = 6,
};

/* One formatted message: level, context ("xc", "xenguest", may be ""), text. */
typedef void (*cxen_log_fn)(int level, const char *context, const char *message);

/* Opens the hypervisor interface (/dev/xen/privcmd). `log` may be NULL
 * (messages are then dropped). */
int cxen_open(cxen_handle **out, cxen_log_fn log);
void cxen_close(cxen_handle *h);
/* The last error message logged through this handle ("" if none). */
const char *cxen_last_error(const cxen_handle *h);

/* ---- host ---------------------------------------------------------- */

struct cxen_version {
    uint32_t major, minor;
    uint32_t pagesize;
    char extra[16];            /* e.g. ".2" or "-rc" */
    char capabilities[1024];   /* e.g. "xen-3.0-x86_64 hvm-3.0-x86_32 ..." */
    char changeset[64];
    char commandline[1024];
    char compiler[64];
    char compile_by[16];
    char compile_domain[32];
    char compile_date[32];
    uint64_t virt_start;       /* platform parameter */
    char build_id[129];        /* lower-case hex; "" if Xen has none */
};
int cxen_version(cxen_handle *h, struct cxen_version *out);

enum {
    CXEN_CAP_HVM = 1u << 0,
    CXEN_CAP_PV = 1u << 1,
    CXEN_CAP_DIRECTIO = 1u << 2,
    CXEN_CAP_HAP = 1u << 3,
    CXEN_CAP_SHADOW = 1u << 4,
    CXEN_CAP_IOMMU_HAP_PT_SHARE = 1u << 5,
    CXEN_CAP_VMTRACE = 1u << 6,
    CXEN_CAP_VPMU = 1u << 7,
    CXEN_CAP_GNTTAB_V1 = 1u << 8,
    CXEN_CAP_GNTTAB_V2 = 1u << 9,
};

struct cxen_physinfo {
    uint32_t threads_per_core;
    uint32_t cores_per_socket;
    uint32_t nr_cpus;
    uint32_t max_cpu_id;
    uint32_t nr_nodes;
    uint32_t max_node_id;
    uint32_t cpu_khz;
    uint32_t capabilities;     /* CXEN_CAP_* */
    uint64_t total_pages;
    uint64_t free_pages;
    uint64_t scrub_pages;
    uint64_t outstanding_pages;
    uint32_t hw_cap[8];
    char scheduler[16];        /* "credit", "credit2", "rtds", "arinc653", "null" */
    uint64_t sharing_freed_pages; /* memory sharing: pages saved, and frames shared */
    uint64_t sharing_used_frames;
    uint32_t free_cpus;        /* CPUs in no CPU pool */
};
int cxen_physinfo(cxen_handle *h, struct cxen_physinfo *out);

/* The hypervisor's console ring. `buf` gets at most `*len` bytes (no NUL
 * added); `*len` is set to the number read. `clear` empties the ring. */
int cxen_read_console(cxen_handle *h, char *buf, uint32_t *len, int clear);

/* ---- domains ------------------------------------------------------- */

enum cxen_domain_type { CXEN_DOMAIN_PV = 0, CXEN_DOMAIN_PVH = 1 };

struct cxen_create {
    uint8_t uuid[16];
    int type;                  /* enum cxen_domain_type */
    uint32_t max_vcpus;
    uint64_t max_memkb;        /* the most the guest may ever have (PV memory map limit) */
    uint32_t ssidref;
    uint32_t max_evtchn_port;  /* 0: libxl's default, 1023 */
    int32_t max_grant_frames;  /* < 0: the hypervisor's default */
    int32_t max_maptrack_frames;
};

/* Makes an empty, paused domain with the host's CPU policy and default TSC
 * mode. On failure nothing is left behind. */
int cxen_domain_create(cxen_handle *h, const struct cxen_create *spec, uint32_t *domid);
/* The most memory the hypervisor lets the domain have, in KiB. */
int cxen_domain_set_max_memory(cxen_handle *h, uint32_t domid, uint64_t kib);
/* The number of vcpus the domain may have. */
int cxen_domain_set_max_vcpus(cxen_handle *h, uint32_t domid, uint32_t count);

struct cxen_pv_build {
    const char *kernel;        /* path; ELF, gzip/xz/lzma/bzip2-compressed ELF or bzImage */
    const char *ramdisk;       /* path or NULL */
    const char *cmdline;       /* may be NULL */
    const char *features;      /* Xen "features" string, may be NULL */
    uint64_t target_memkb;
    uint32_t max_vcpus;
    uint32_t store_domid;      /* the domain that runs xenstored (0) */
    uint32_t console_domid;    /* the domain that runs xenconsoled (0) */
};

struct cxen_pv_built {
    uint32_t store_port;       /* unbound event channels in the guest, */
    uint32_t console_port;     /* bound by the backends later */
    uint64_t store_mfn;        /* machine frames of the shared pages */
    uint64_t console_mfn;
};

/* Loads a PV kernel (and ramdisk) into a domain made by cxen_domain_create,
 * with its start info, xenstore and console pages and event channels.
 * The domain stays paused. The caller destroys it on failure. */
int cxen_build_pv(cxen_handle *h, uint32_t domid, const struct cxen_pv_build *b,
                  struct cxen_pv_built *out);

/* The kernel file libxenguest should load for `path`: when `path` is a
 * compressed kernel (gzip'd ELF, or a bzImage with a gzip, xz or lzma
 * payload), an unpacked copy kept in `cache_dir` (made 0700 if missing,
 * used only when owned by us and writable by no one else), unpacking it on
 * first use; otherwise `path` itself. Writes the path to `out` (`cap`
 * bytes). Returns 0, or -errno when `path` cannot be opened. Never fails
 * because of the cache: it falls back to `path`. Needs no Xen. */
int cxen_kernel_uncompressed(const char *path, const char *cache_dir, char *out, size_t cap);
/* The same for a ramdisk, but only a gzip'd one: libxenguest unpacks those
 * itself before loading them (other formats it loads as they are, and the
 * guest unpacks them), so handing it the unpacked copy changes nothing but
 * the time. */
int cxen_ramdisk_uncompressed(const char *path, const char *cache_dir, char *out, size_t cap);

int cxen_domain_unpause(cxen_handle *h, uint32_t domid);
/* The guest's ABI for PV frontends ("x86_64-abi", "x86_32-abi"). */
int cxen_native_protocol(cxen_handle *h, uint32_t domid, char *buf, size_t cap);
int cxen_domain_pause(cxen_handle *h, uint32_t domid);
int cxen_domain_destroy(cxen_handle *h, uint32_t domid);

/* Shutdown reasons, as in Xen's sched.h. */
enum cxen_shutdown_reason {
    CXEN_SHUTDOWN_POWEROFF = 0,
    CXEN_SHUTDOWN_REBOOT = 1,
    CXEN_SHUTDOWN_SUSPEND = 2,
    CXEN_SHUTDOWN_CRASH = 3,
    CXEN_SHUTDOWN_WATCHDOG = 4,
    CXEN_SHUTDOWN_SOFT_RESET = 5,
};
/* Marks the domain shut down with `reason` from the outside (what Xen does
 * when a guest calls SCHEDOP_shutdown). A cooperative shutdown request goes
 * through xenstore's control/shutdown instead. */
int cxen_domain_shutdown(cxen_handle *h, uint32_t domid, int reason);

/* Whether an HVM domain's PV drivers are up: its HVM_PARAM_CALLBACK_IRQ
 * is set (libxl__domain_pvcontrol_available). *available: 1 or 0. */
int cxen_domain_hvm_pv_drivers(cxen_handle *h, uint32_t domid, int *available);

/* An ACPI event to a domain's vCPU 0 (xc_domain_send_trigger), as
 * libxl_send_trigger sends LIBXL_TRIGGER_POWER / _RESET. */
enum { CXEN_TRIGGER_RESET = 1, CXEN_TRIGGER_POWER = 3 };
int cxen_domain_send_trigger(cxen_handle *h, uint32_t domid, int trigger);

/* The host's topology (xl info -n). cxen_cpu_topology: core, socket and
 * node of CPUs 0.. (xc_cputopoinfo; ~0 where Xen has none), up to `max`
 * entries of 3 words; returns the CPU count or -errno. cxen_numa_info:
 * memsize, memfree (xc_numainfo) and the distance row of nodes 0.., up to
 * `max` nodes (`dists` holds max*max words); returns the node count.
 * cxen_pci_topology: the node of each /sys/bus/pci/devices entry with one
 * (xc_pcitopoinfo), as seg, bus, devfn, node words, up to `max`; returns
 * how many. */
int cxen_cpu_topology(cxen_handle *h, uint32_t *out, uint32_t max);
int cxen_numa_info(cxen_handle *h, uint64_t *mem, uint32_t *dists, uint32_t max);
int cxen_pci_topology(cxen_handle *h, uint32_t *out, uint32_t max);

/* A domain's NUMA node affinity (xc_domain_node_getaffinity), nodes 0..255
 * as four 64-bit words. */
int cxen_domain_node_affinity(cxen_handle *h, uint32_t domid, uint64_t words[4]);

enum {
    CXEN_DOMINFO_DYING = 1u << 0,
    CXEN_DOMINFO_HVM = 1u << 1,
    CXEN_DOMINFO_SHUTDOWN = 1u << 2,
    CXEN_DOMINFO_PAUSED = 1u << 3,
    CXEN_DOMINFO_BLOCKED = 1u << 4,
    CXEN_DOMINFO_RUNNING = 1u << 5,
    CXEN_DOMINFO_DEBUGGED = 1u << 6,
    CXEN_DOMINFO_XS_DOMAIN = 1u << 7,
    CXEN_DOMINFO_HAP = 1u << 8,
};

struct cxen_dominfo {
    uint32_t domid;
    uint32_t flags;            /* CXEN_DOMINFO_* */
    uint32_t shutdown_reason;  /* meaningful with CXEN_DOMINFO_SHUTDOWN */
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t ssidref;
    uint32_t cpupool;
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t shared_pages;
    uint64_t cpu_time_ns;
    uint8_t uuid[16];
};

/* Up to `max` domains with id >= `first`, in id order. Returns the count. */
int cxen_domain_list(cxen_handle *h, uint32_t first, struct cxen_dominfo *out, uint32_t max);

#define CXEN_CPUMAP_WORDS 4        /* cpumaps of CPUs 0..255, one bit each */

struct cxen_vcpuinfo {
    uint32_t vcpu;
    uint32_t cpu;              /* the physical CPU it runs on */
    uint8_t online, running, blocked;
    uint64_t cpu_time_ns;
    uint64_t affinity[CXEN_CPUMAP_WORDS];      /* hard affinity */
    uint64_t soft_affinity[CXEN_CPUMAP_WORDS]; /* soft affinity */
};
/* One vcpu of a domain. */
int cxen_vcpu_info(cxen_handle *h, uint32_t domid, uint32_t vcpu, struct cxen_vcpuinfo *out);

/* Sets a vcpu's hard and/or soft affinity (NULL: left alone) with
 * xc_vcpu_setaffinity; `force` undoes a pinning the guest's kernel made.
 * CPUs beyond the host's are dropped, as libxl drops them. */
int cxen_vcpu_set_affinity(cxen_handle *h, uint32_t domid, uint32_t vcpu,
                           const uint64_t *hard, const uint64_t *soft, int force);

/* ---- schedulers ---------------------------------------------------- */

enum cxen_scheduler { CXEN_SCHED_CREDIT = 5, CXEN_SCHED_CREDIT2 = 6, CXEN_SCHED_ARINC653 = 7,
                      CXEN_SCHED_RTDS = 8, CXEN_SCHED_NULL = 9 };

struct cxen_cpupool {
    uint32_t id;
    uint32_t sched_id;         /* enum cxen_scheduler */
    uint32_t n_dom;
    uint64_t cpus[CXEN_CPUMAP_WORDS];
};
/* Up to `max` CPU pools, by id. Returns the count. */
int cxen_cpupool_list(cxen_handle *h, struct cxen_cpupool *out, uint32_t max);

/* A domain's weight and cap under the credit or credit2 scheduler
 * (`sched`: CXEN_SCHED_CREDIT or _CREDIT2). */
int cxen_sched_domain_get(cxen_handle *h, uint32_t domid, int sched, uint32_t *weight, uint32_t *cap);
int cxen_sched_domain_set(cxen_handle *h, uint32_t domid, int sched, uint32_t weight, uint32_t cap);
/* A pool's parameters; credit2 has only the rate limit (the others read 0). */
int cxen_sched_pool_get(cxen_handle *h, uint32_t pool, int sched,
                        uint32_t *tslice_ms, uint32_t *ratelimit_us, uint32_t *migration_delay_us);
int cxen_sched_pool_set(cxen_handle *h, uint32_t pool, int sched,
                        uint32_t tslice_ms, uint32_t ratelimit_us, uint32_t migration_delay_us);

/* ---- diagnostics --------------------------------------------------- */

/* Sends `keys` to the hypervisor as if typed on its serial console (Xen's
 * debug keys, xc_send_debug_keys); what they print goes to the console ring. */
int cxen_send_debug_keys(cxen_handle *h, const char *keys);

/* Writes the domain's memory and vCPU state to `path` as an ELF core, in
 * libxenguest's format (xc_domain_dumpcore). */
int cxen_domain_dumpcore(cxen_handle *h, uint32_t domid, const char *path);

/* The size of one vCPU's context in a core's .xen_prstatus section
 * (vcpu_guest_context_any_t); needs no Xen. */
uint32_t cxen_core_vcpu_context_size(void);

/* ---- save and restore ------------------------------------------------ */

/* The guest must stop now: ask it to suspend and wait until the hypervisor
 * shows it shut down for suspend. Returns non-zero when it did, 0 when it
 * did not (the save then fails). Called exactly once per save. */
typedef int (*cxen_suspend_fn)(void *ctx);
/* How far a save or restore has got, in pages (`total` may grow while a
 * live save iterates). May be called from another thread during a restore
 * (never at the same time as another call for the same operation). */
typedef void (*cxen_progress_fn)(void *ctx, uint64_t done, uint64_t total);

enum {
    CXEN_SAVE_LIVE = 1u << 0,     /* copy while the guest runs, suspend for the last round */
    CXEN_SAVE_DEBUG = 1u << 1,    /* libxc's verify pass (XCFLAGS_DEBUG) */
    CXEN_SAVE_DIRECT = 1u << 2,   /* a regular file is written around the page cache (see below), whatever its size */
    CXEN_SAVE_CACHED = 1u << 3,   /* ... through the page cache, whatever its size (neither: by size) */
};

/* Writes the domain's image (libxc's migration stream v3, plain: no
 * checkpoints) to `fd`, from the fd's current position, with
 * xc_domain_save. `fd` must be blocking. Calls `suspend` when the guest
 * must stop (non-live: before the first page; live: before the last
 * round). A live save needs the hypervisor to track dirty pages (for PV:
 * shadow paging, CXEN_CAP_SHADOW); without it libxc fails after writing
 * its headers, so callers check first. On failure the guest may be left
 * suspended: see cxen_domain_resume. */
int cxen_domain_save(cxen_handle *h, uint32_t domid, int fd, uint32_t flags,
                     cxen_suspend_fn suspend, cxen_progress_fn progress, void *ctx);

/* Whether a save writes a regular file around the page cache, for its
 * `flags` (CXEN_SAVE_DIRECT, CXEN_SAVE_CACHED, or neither: by size), an
 * image of about `image` bytes and `available` bytes of memory the kernel
 * has available (MemAvailable; -1: unknown). By size: only an image larger
 * than the available memory, which the page cache could not keep anyway
 * (a smaller file stays cached, and a restore soon after reads it there).
 * Through the cache, each page costs dom0 a page allocated and zeroed,
 * the copy, its writeback and its reclaim: a 512 MiB file took 5.7 s of
 * dom0's CPU under the QEMU harness's TCG that way, against about 1.4 s
 * written with O_DIRECT (docs/save-restore.md). */
int cxen_save_goes_direct(uint32_t flags, long long image, long long available);

/* The writer a save uses for a file it writes around the page cache.
 * libxc writes its stream with write_exact and writev_exact (libxenctrl);
 * swxl links them wrapped (the linker's --wrap), and while a writer is
 * active on the calling thread, what libxc writes to the writer's
 * descriptor is gathered into an aligned buffer and written with O_DIRECT,
 * 4 MiB at a time, at the descriptor's position (the bytes of the file's
 * last block before it, which the caller wrote, are read back first); the
 * rest, less than a buffer, is written through the page cache by
 * cxen_direct_finish, which leaves the descriptor's offset at the end, so
 * the caller writes on after it. A file that refuses O_DIRECT (at open or
 * at the first write) is written through the page cache as before. A
 * descriptor replaced under the writer (a signal ending the stream, see
 * SaveStreamIO in XenHost) fails the next write with EINTR.
 * cxen_direct_start returns NULL (nothing changed) when `fd` is not a
 * regular file or the wrapping is not linked in. */
struct cxen_direct;
struct cxen_direct *cxen_direct_start(int fd);
/* Appends to the stream, as libxc's wrapped writes do: 0, or -1 with errno. */
int cxen_direct_write(struct cxen_direct *w, const void *data, size_t len);
/* Ends the writer and frees it: with `ok`, writes what is left and sets
 * the offset past it (0, or -errno); without, drops it (0). Whether any
 * of the file went around the page cache is stored in `*went_direct` (if
 * not NULL). */
int cxen_direct_finish(struct cxen_direct *w, int ok, int *went_direct);
/* libxc's write_exact as swxl's link sees it (wrapped): for the tests. */
int cxen_libxc_write_exact(int fd, const void *data, size_t len);

/* cxen_restore.drop_behind: never, always, or only when the rest of the
 * file is more than half of the memory the kernel has available
 * (MemAvailable): a file that fits stays cached (dropping its pages is
 * work on dom0's CPU while libxc restores: for a file just saved, whose
 * pages are still dirty, it starts their writeback there and then). */
#define CXEN_DROP_BEHIND_NEVER  0
#define CXEN_DROP_BEHIND_ALWAYS 1
#define CXEN_DROP_BEHIND_AUTO   2

/* Whether a restore drops behind libxc the rest of a file, `left` bytes,
 * in `mode`, with `available` bytes of memory available (-1: unknown,
 * then it does). */
int cxen_restore_drops_behind(uint32_t mode, long long left, long long available);

/* Whether at least 7/8 of the file on `fd` from `from` to its end is in
 * the page cache (mincore on a mapping of it; past 8 MiB, on 32 windows
 * of 256 KiB spread evenly over it): 1 yes, 0 no, -1 when it cannot be
 * told (not a regular file, or the mapping failed). A restore
 * reads such a file without its read-ahead thread (cxen_restore.
 * read_ahead_mib): the thread's requests there only cost dom0 CPU while
 * libxc restores (measured in the QEMU harness, a 128 MiB file just
 * saved: restore to running 1215-1273 ms without, 1419-1492 ms with). */
int cxen_file_cached(int fd, long long from);

/* Feeds the rest of the regular file on `fd`, from its offset, into a
 * pipe whose read end it returns in `pipe_rd` (blocking; the feed owns
 * it): what the page cache does not hold is read with O_DIRECT into a
 * ring of buffers handed to the pipe without a copy (vmsplice), what it
 * holds is spliced from it; the file's pages are neither allocated in
 * the cache nor zeroed nor reclaimed (see save_restore.c). A thread does
 * the reading; the pipe ends at the end of the file, or early when the
 * reading fails or `fd` no longer is the file (a signal's /dev/null).
 * NULL when the file cannot be read so (not a regular file, nothing left,
 * no O_DIRECT there), with nothing left behind. */
struct cxen_feed;
struct cxen_feed *cxen_feed_start(int fd, int *pipe_rd);

/* Stops the feed, sets `fd`'s offset just past what was read from the
 * pipe (what the feed put in, less what is still in it), and frees it
 * and its pipe. 0, or -errno of the feed's reading (-EINTR: `fd` was
 * replaced) or of setting the offset. */
int cxen_feed_finish(struct cxen_feed *f);

struct cxen_restore {
    uint32_t store_domid;      /* in: the domain that runs xenstored (0) */
    uint32_t console_domid;    /* in: the domain that runs xenconsoled (0) */
    uint64_t expected_pages;   /* in: the guest's size in pages, for progress (0: unknown) */
    uint32_t read_ahead_mib;   /* in: a regular file not already cached (cxen_file_cached), and not fed (`direct`), is read this far ahead of libxc (0: not) */
    uint32_t drop_behind;      /* in: CXEN_DROP_BEHIND_*: whether what libxc has read of a regular file leaves the page cache */
    uint32_t direct;           /* in: a regular file not already cached is read around the page cache (cxen_feed_start) instead */
    uint32_t store_port;       /* out: fresh event channels, as after a build */
    uint32_t console_port;
    uint64_t store_mfn;        /* out: the restored xenstore and console pages */
    uint64_t console_mfn;
};

/* Fills the empty paused domain `domid` (made by cxen_domain_create, with
 * its vcpu and memory limits set) from the image on `fd` (libxc's stream,
 * read exactly up to its END record) with xc_domain_restore: allocates
 * the store and console event channels, and writes them into the guest's
 * start info. Streams from before Xen 4.14 carry no CPU policy: the
 * host's is applied then, as libxl does. The domain stays paused; the
 * caller destroys it on failure. `progress` may be NULL: then no thread
 * polls the domain's pages for it. */
int cxen_domain_restore(cxen_handle *h, uint32_t domid, int fd, struct cxen_restore *r,
                        cxen_progress_fn progress, void *ctx);

/* Lets a guest that suspended for a save run on in this domain: the
 * suspend hypercall returns 1 ("cancelled") to the guest
 * (xc_domain_resume with fast = 1). A domain that is not shut down at all
 * is running already: 0, nothing done. A domain shut down for another
 * reason: -EINVAL. */
int cxen_domain_resume(cxen_handle *h, uint32_t domid);

/* A new unbound event channel in `domid` for `remote` to bind. */
int cxen_evtchn_alloc_unbound(cxen_handle *h, uint32_t domid, uint32_t remote, uint32_t *port);

/* Yielding dom0's vCPU to Xen's scheduler (SCHEDOP_yield through
 * libxencall), so that another domain's vCPU waiting for this physical CPU
 * runs: the xenstore daemon's poll of guests' rings yields so between its
 * looks. NULL on failure (errno set); the yield returns 0 or -errno. */
typedef struct cxen_vcpu_yielder cxen_vcpu_yielder;
cxen_vcpu_yielder *cxen_vcpu_yielder_open(void);
void cxen_vcpu_yielder_close(cxen_vcpu_yielder *y);
int cxen_vcpu_yield(cxen_vcpu_yielder *y);

/* Event channels for a xenstore daemon (libxenevtchn, /dev/xen/evtchn).
 * Results: a port or 0 on success, -errno on failure. */
typedef struct cxen_evtchn cxen_evtchn;
/* NULL on failure (errno set). */
cxen_evtchn *cxen_evtchn_open(void);
void cxen_evtchn_close(cxen_evtchn *e);
/* The descriptor to poll: readable when a port is pending. */
int cxen_evtchn_fd(cxen_evtchn *e);
/* Binds `remote_port` of `domid` (dom0's own unbound xenstore port with
 * domid 0): the local port. */
int cxen_evtchn_bind_interdomain(cxen_evtchn *e, uint32_t domid, uint32_t remote_port);
int cxen_evtchn_unbind(cxen_evtchn *e, uint32_t port);
int cxen_evtchn_notify(cxen_evtchn *e, uint32_t port);
/* The next pending port (call when the descriptor is readable). */
int cxen_evtchn_pending(cxen_evtchn *e);
int cxen_evtchn_unmask(cxen_evtchn *e, uint32_t port);
/* VIRQ_DOM_EXC (a domain shut down, is dying or went): the local port.
 * -EEXIST: another xenstored in this domain has it. */
int cxen_evtchn_bind_dom_exc(cxen_evtchn *e);

/* A guest's xenstore page, for a xenstore daemon (xenstored_domains.c).
 * Map functions return NULL with *err = errno on failure. */
typedef struct cxen_gnttab cxen_gnttab;
/* /dev/xen/gntdev; NULL on failure (errno set). */
cxen_gnttab *cxen_gnttab_open(void);
void cxen_gnttab_close(cxen_gnttab *g);
/* Maps grant GNTTAB_RESERVED_XENSTORE of `domid` read-write (Xen 4.17's C xenstored's way). */
void *cxen_gnttab_map_xenstore(cxen_gnttab *g, uint32_t domid, int *err);
int cxen_gnttab_unmap(cxen_gnttab *g, void *page);

typedef struct cxen_foreign cxen_foreign;
/* /dev/xen/privcmd's foreign mappings; NULL on failure (errno set). */
cxen_foreign *cxen_foreign_open(void);
void cxen_foreign_close(cxen_foreign *f);
/* Maps frame `frame` of `domid` read-write (Xen 4.17's OCaml xenstored's way). */
void *cxen_foreign_map_page(cxen_foreign *f, uint32_t domid, uint64_t frame, int *err);
int cxen_foreign_unmap(cxen_foreign *f, void *page);

#ifdef __cplusplus
}
#endif
#endif
