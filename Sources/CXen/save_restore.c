/*
 * Save and restore through libxenguest: cxen_domain_save,
 * cxen_domain_restore, cxen_domain_resume and cxen_evtchn_alloc_unbound
 * (see include/cxen.h).
 *
 * Written for swxl from Xen's public headers (xenguest.h, xenctrl.h) and
 * the migration stream specifications; no code is taken from Xen's
 * toolstack. libxl runs these calls in a helper process because it is an
 * asynchronous library living in big daemons; swxl is a command that does
 * one thing at a time, so it calls them in its own process.
 */
#define _GNU_SOURCE
#define __XEN_TOOLS__ 1
#include "cxen.h"
#include "cxen_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>

/* ---- writing a save file around the page cache ------------------- */

/* See cxen_direct_start in cxen.h. One writer per thread at most (libxc
 * writes on the thread that called xc_domain_save). */
#define DIRECT_CHUNK ((size_t)4 << 20)
#define DIRECT_ALIGN ((off_t)4096)

struct cxen_direct {
    int fd;             /* the caller's descriptor (libxc's ctx->fd) */
    int dfd;            /* the same file opened O_DIRECT; -1 once written through the cache */
    dev_t dev;
    ino_t ino;
    off_t base;         /* the file offset of buf[0] (aligned) */
    size_t fill;        /* bytes in buf */
    unsigned char *buf; /* DIRECT_CHUNK bytes, page-aligned */
    bool wrote_direct;
};

static __thread struct cxen_direct *active_direct;
static __thread bool wrap_seen;

static int pwrite_all(int fd, const unsigned char *p, size_t len, off_t at)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

/* Writes the full buffer at base: O_DIRECT, or through the cache once the
 * file has refused O_DIRECT. 0, or -1 with errno. */
static int direct_flush(struct cxen_direct *w)
{
    struct stat st;
    if (fstat(w->fd, &st) != 0 || st.st_dev != w->dev || st.st_ino != w->ino) {
        errno = EINTR;   /* the descriptor was replaced: the stream has ended */
        return -1;
    }
    if (w->dfd >= 0) {
        ssize_t n = pwrite(w->dfd, w->buf, w->fill, w->base);
        if (n == (ssize_t)w->fill) {
            w->wrote_direct = true;
            w->base += n;
            w->fill = 0;
            return 0;
        }
        if (n >= 0 || errno != EINVAL || w->wrote_direct) {
            if (n >= 0)
                errno = EIO;   /* a short O_DIRECT write: the disk is full, or worse */
            return -1;
        }
        /* The file system refuses O_DIRECT here: through the cache from now on. */
        close(w->dfd);
        w->dfd = -1;
    }
    if (pwrite_all(w->fd, w->buf, w->fill, w->base) != 0)
        return -1;
    w->base += (off_t)w->fill;
    w->fill = 0;
    return 0;
}

int cxen_direct_write(struct cxen_direct *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = DIRECT_CHUNK - w->fill < len ? DIRECT_CHUNK - w->fill : len;
        memcpy(w->buf + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        if (w->fill == DIRECT_CHUNK && direct_flush(w) != 0)
            return -1;
    }
    return 0;
}

/* libxc's writes, wrapped at link time (-Wl,--wrap=write_exact,--wrap=writev_exact). */
int __real_write_exact(int fd, const void *data, size_t size);
int __real_writev_exact(int fd, const struct iovec *iov, int iovcnt);

int __wrap_write_exact(int fd, const void *data, size_t size)
{
    struct cxen_direct *w = active_direct;
    wrap_seen = true;
    if (!w || fd != w->fd)
        return __real_write_exact(fd, data, size);
    return cxen_direct_write(w, data, size);
}

int __wrap_writev_exact(int fd, const struct iovec *iov, int iovcnt)
{
    struct cxen_direct *w = active_direct;
    wrap_seen = true;
    if (!w || fd != w->fd)
        return __real_writev_exact(fd, iov, iovcnt);
    for (int i = 0; i < iovcnt; i++)
        if (cxen_direct_write(w, iov[i].iov_base, iov[i].iov_len) != 0)
            return -1;
    return 0;
}

int write_exact(int fd, const void *data, size_t size);   /* libxenctrl's (xc_private.h) */

int cxen_libxc_write_exact(int fd, const void *data, size_t len)
{
    return write_exact(fd, data, len);
}

struct cxen_direct *cxen_direct_start(int fd)
{
    struct stat st;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || active_direct)
        return NULL;
    /* Only where libxc's writes reach the writer: a call of write_exact
     * from here goes through the wrapper when the link wraps it (writing
     * nothing either way). */
    wrap_seen = false;
    (void)write_exact(fd, "", 0);
    if (!wrap_seen)
        return NULL;
    struct cxen_direct *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = fd;
    w->dev = st.st_dev;
    w->ino = st.st_ino;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    w->dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    void *buf = mmap(NULL, DIRECT_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (w->dfd < 0 || buf == MAP_FAILED) {
        if (w->dfd >= 0)
            close(w->dfd);
        if (buf != MAP_FAILED)
            munmap(buf, DIRECT_CHUNK);
        free(w);
        return NULL;
    }
    w->buf = buf;
    /* The file's last block before the stream: what the caller wrote of it
     * (read through a descriptor of our own: the caller's may be write-only). */
    w->base = pos & ~(DIRECT_ALIGN - 1);
    w->fill = (size_t)(pos - w->base);
    int rfd = w->fill > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    size_t got = 0;
    while (got < w->fill) {
        ssize_t n = rfd < 0 ? -1 : pread(rfd, w->buf + got, w->fill - got, w->base + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (rfd >= 0)
                close(rfd);
            close(w->dfd);
            munmap(w->buf, DIRECT_CHUNK);
            free(w);
            return NULL;
        }
        got += (size_t)n;
    }
    if (rfd >= 0)
        close(rfd);
    active_direct = w;
    return w;
}

int cxen_direct_finish(struct cxen_direct *w, int ok, int *went_direct)
{
    int rc = 0;
    if (active_direct == w)
        active_direct = NULL;
    if (ok) {
        /* The tail, less than a buffer, through the page cache (an O_DIRECT
         * write must be whole blocks), then the caller writes on from its end. */
        if (pwrite_all(w->fd, w->buf, w->fill, w->base) != 0)
            rc = -errno;
        else if (lseek(w->fd, w->base + (off_t)w->fill, SEEK_SET) < 0)
            rc = -errno;
    }
    if (went_direct)
        *went_direct = w->wrote_direct;
    if (w->dfd >= 0)
        close(w->dfd);
    munmap(w->buf, DIRECT_CHUNK);
    free(w);
    return rc;
}

/* MemAvailable of /proc/meminfo in bytes; -1 if it cannot be read. */
static long long mem_available(void);

int cxen_save_goes_direct(uint32_t flags, long long image, long long available)
{
    if (flags & CXEN_SAVE_DIRECT)
        return 1;
    if (flags & CXEN_SAVE_CACHED)
        return 0;
    return available >= 0 && image > available;
}

/* ---- save ---------------------------------------------------------- */

struct save_call {
    cxen_suspend_fn suspend;
    void *ctx;
    int suspend_calls;
};

static int save_suspend(void *data)
{
    struct save_call *c = data;
    c->suspend_calls++;
    /* libxc: non-zero is success, and the domain must then be shut down
     * for suspend (it checks again itself). */
    return c->suspend(c->ctx) ? 1 : 0;
}

int cxen_domain_save(cxen_handle *h, uint32_t domid, int fd, uint32_t flags,
                     cxen_suspend_fn suspend, cxen_progress_fn progress, void *ctx)
{
    cxen__begin(h);
    if (!suspend)
        return cxen__fail(h, EINVAL, "a save needs a suspend callback");
    if (flags & ~(uint32_t)(CXEN_SAVE_LIVE | CXEN_SAVE_DEBUG | CXEN_SAVE_DIRECT | CXEN_SAVE_CACHED))
        return cxen__fail(h, EINVAL, "unknown save flags %#x", flags);

    xc_domaininfo_t di;
    if (xc_domain_getinfolist(cxen__xch(h), domid, 1, &di) != 1 || di.domain != domid)
        return cxen__fail(h, ESRCH, "domain %u", domid);
    if (di.flags & XEN_DOMINF_hvm_guest)
        return cxen__fail(h, EOPNOTSUPP, "swxl saves PV guests only; domain %u is PVH/HVM", domid);

    struct save_call call = { .suspend = suspend, .ctx = ctx };
    struct save_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.suspend = save_suspend;
    cb.data = &call;
    uint32_t xcflags = 0;
    if (flags & CXEN_SAVE_LIVE)
        xcflags |= XCFLAGS_LIVE;
    if (flags & CXEN_SAVE_DEBUG)
        xcflags |= XCFLAGS_DEBUG;

    struct cxen_direct *direct = NULL;
    if (cxen_save_goes_direct(flags, (long long)di.tot_pages * 4096, mem_available()))
        direct = cxen_direct_start(fd);
    cxen__set_progress(h, progress, ctx);
    cxen__trace(direct ? "xc_domain_save starts (the file written around the page cache)" : "xc_domain_save starts");
    errno = 0;
    int rc = xc_domain_save(cxen__xch(h), fd, domid, xcflags, &cb, XC_STREAM_PLAIN, -1);
    int err = cxen__err_now();
    cxen__trace("xc_domain_save returned");
    cxen__set_progress(h, NULL, NULL);
    if (direct) {
        int went = 0;
        int drc = cxen_direct_finish(direct, rc == 0, &went);
        cxen__trace(went ? "the file's last part written" : "the file's last part written (all through the page cache)");
        if (rc == 0 && drc != 0)
            return cxen__fail(h, -drc, "writing the end of the save file");
    }
    if (rc != 0) {
        char what[96];
        snprintf(what, sizeof what, "saving domain %u%s", domid,
                 call.suspend_calls ? "" : " (before the guest was suspended)");
        return cxen__fail_at_first_error(h, err, what);
    }
    return 0;
}

/* ---- restore ------------------------------------------------------- */

/* A logger that drops everything: the progress thread's own handle. */
static void quiet_vmessage(xentoollog_logger *lg, xentoollog_level l, int e, const char *c,
                           const char *f, va_list al)
{
    (void)lg; (void)l; (void)e; (void)c; (void)f; (void)al;
}
static void quiet_progress(xentoollog_logger *lg, const char *c, const char *d, int p,
                           unsigned long done, unsigned long total)
{
    (void)lg; (void)c; (void)d; (void)p; (void)done; (void)total;
}
static void quiet_destroy(xentoollog_logger *lg) { (void)lg; }
static xentoollog_logger quiet_logger = {
    .vmessage = quiet_vmessage, .progress = quiet_progress, .destroy = quiet_destroy,
};

/* A thread beside libxc while it restores, for two jobs:
 *  - progress: libxc reports none while it restores; the pages the domain
 *    holds say how far it has got (polled with the thread's own interface
 *    handle, every 250 ms);
 *  - reading ahead: libxc reads the stream in one record at a time and
 *    processes each before it reads the next, so with the kernel's own
 *    read-ahead (128 KiB at a time) the disk and libxc mostly take turns.
 *    When the stream is a regular file not already in the page cache
 *    (cxen_file_cached) that the feed (below) cannot read around the
 *    cache, the thread keeps the next
 *    read_ahead bytes past libxc's position (the shared file offset)
 *    requested (POSIX_FADV_WILLNEED, in 4 MiB steps), so the reads are
 *    under way while libxc maps and copies pages, and (drop_behind) lets
 *    the page cache forget what libxc has read, so a file larger than
 *    dom0's free memory does not make the kernel reclaim ahead of it
 *    (only for such a file, unless asked: see CXEN_DROP_BEHIND_AUTO). */
struct restore_watch {
    uint32_t domid;
    uint64_t total;
    cxen_progress_fn progress;
    void *ctx;
    int fd;
    off_t read_ahead;      /* bytes; 0: no reading ahead */
    bool drop_behind;
    off_t requested;       /* the file is requested up to here */
    off_t dropped;         /* and forgotten up to here */
    off_t size;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    uint64_t last;
};

#define READ_AHEAD_STEP ((off_t)4 << 20)

static void restore_read_ahead(struct restore_watch *w)
{
    off_t pos = lseek(w->fd, 0, SEEK_CUR);
    if (pos < 0)
        return;
    if (w->drop_behind && pos - w->dropped >= READ_AHEAD_STEP) {
        /* (keep the last step: libxc may still be in it) */
        off_t upto = (pos - READ_AHEAD_STEP) & ~(READ_AHEAD_STEP - 1);
        if (upto > w->dropped) {
            posix_fadvise(w->fd, w->dropped, upto - w->dropped, POSIX_FADV_DONTNEED);
            w->dropped = upto;
        }
    }
    if (w->requested < pos)
        w->requested = pos;
    off_t want = pos + w->read_ahead;
    if (want > w->size)
        want = w->size;
    while (w->requested < want) {
        off_t len = want - w->requested < READ_AHEAD_STEP ? want - w->requested : READ_AHEAD_STEP;
        posix_fadvise(w->fd, w->requested, len, POSIX_FADV_WILLNEED);
        w->requested += len;
    }
}

static void *restore_watch_run(void *arg)
{
    struct restore_watch *w = arg;
    xc_interface *xch = w->progress ? xc_interface_open(&quiet_logger, &quiet_logger, 0) : NULL;
    long tick_ms = w->read_ahead ? 10 : 250;
    int ticks_per_progress = (int)(250 / tick_ms), tick = 0;
    pthread_mutex_lock(&w->lock);
    if (w->read_ahead)
        restore_read_ahead(w);
    while (!w->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += tick_ms * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->done_cond, &w->lock, &until);
        if (w->done)
            continue;
        if (w->read_ahead)
            restore_read_ahead(w);
        if (!xch || ++tick < ticks_per_progress)
            continue;
        tick = 0;
        xc_domaininfo_t di;
        if (xc_domain_getinfolist(xch, w->domid, 1, &di) == 1 && di.domain == w->domid) {
            uint64_t pages = di.tot_pages < w->total ? di.tot_pages : w->total;
            if (pages != w->last) {
                w->last = pages;
                w->progress(w->ctx, pages, w->total);
            }
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (xch)
        xc_interface_close(xch);
    return NULL;
}

/* MemAvailable of /proc/meminfo in bytes; -1 if it cannot be read. */
static long long mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -1;
    char line[128];
    long long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

int cxen_restore_drops_behind(uint32_t mode, long long left, long long available)
{
    if (mode != CXEN_DROP_BEHIND_AUTO)
        return mode != CXEN_DROP_BEHIND_NEVER;
    return available < 0 || left > available / 2;
}

/* Past this many pages, cxen_file_cached looks at CACHED_WINDOWS windows
 * of CACHED_WINDOW_PAGES pages spread evenly over the range instead of at
 * every page: mincore costs a page-cache look-up per page, 80 ms for a
 * 512 MiB file under the QEMU harness's TCG (9 ms with 128 windows of 16
 * pages: there each system call costs more than the look-ups), all of it
 * on the restore's way to libxc. A file the save has just written is
 * resident from some point to its end, so the windows tell the fraction
 * to within one window's share, 1/32. */
#define CACHED_WINDOWS 32
#define CACHED_WINDOW_PAGES 64

int cxen_file_cached(int fd, long long from)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || from < 0)
        return -1;
    long page = sysconf(_SC_PAGESIZE);
    off_t start = (off_t)from & ~(off_t)(page - 1);
    if (st.st_size <= start)
        return 1;
    size_t len = (size_t)(st.st_size - start);
    size_t pages = (len + (size_t)page - 1) / (size_t)page;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, start);
    if (map == MAP_FAILED)
        return -1;
    int cached = -1;
    size_t in = 0, seen = 0;
    if (pages <= (size_t)CACHED_WINDOWS * CACHED_WINDOW_PAGES) {
        unsigned char *vec = malloc(pages);
        if (vec && mincore(map, len, vec) == 0) {
            for (size_t i = 0; i < pages; i++)
                in += vec[i] & 1;
            seen = pages;
        }
        free(vec);
    } else {
        unsigned char vec[CACHED_WINDOW_PAGES];
        size_t span = pages - CACHED_WINDOW_PAGES;   /* the last window ends at the last page */
        for (size_t w = 0; w < CACHED_WINDOWS; w++) {
            size_t first = span * w / (CACHED_WINDOWS - 1);
            if (mincore((unsigned char *)map + first * (size_t)page, (size_t)CACHED_WINDOW_PAGES * (size_t)page, vec) != 0)
                break;
            for (size_t i = 0; i < CACHED_WINDOW_PAGES; i++)
                in += vec[i] & 1;
            seen += CACHED_WINDOW_PAGES;
        }
        if (seen != (size_t)CACHED_WINDOWS * CACHED_WINDOW_PAGES)
            seen = 0;
    }
    if (seen > 0)
        cached = in * 8 >= seen * 7;
    munmap(map, len);
    return cached;
}

/* ---- reading the file around the page cache ------------------------ */

/* A restore from a regular file not already cached: libxc reads the
 * stream from a pipe that a thread of the bridge fills from the file,
 * instead of from the file itself. The thread reads what the page cache
 * does not hold with O_DIRECT, 1 MiB at a time, into a ring of buffers
 * it hands to the pipe without copying (vmsplice); what the page cache
 * holds (the tail a save just wrote) goes into the pipe from the cache
 * (splice, no copy either). libxc copies the bytes out of the pipe as it
 * would out of the page cache, but the kernel no longer allocates,
 * fills, ages and reclaims a page of cache for every page of the file:
 * in a dom0 smaller than the file, that was most of what the kernel did
 * while libxc restored (docs/save-restore.md).
 *
 * The ring may be refilled only once the pipe has let go of what was
 * handed to it: the pipe holds at most (its size / 4096) buffers, and
 * every page handed over from the ring takes one, so with FEED_RING
 * chunks and (FEED_RING - 1) chunks of FEED_CHUNK at least the pipe's
 * size, a chunk's buffer is reused only after libxc has read it (what is
 * spliced from the cache in between only adds buffers after it).
 *
 * When libxc is done, the thread is stopped and the file's offset set to
 * just past what libxc read (what the thread put in the pipe, less what
 * is still in it), so the caller reads on from the file as if libxc had
 * read it directly. */
#define FEED_CHUNK ((size_t)1 << 20)
#define FEED_RING 6
#define FEED_PIPE_BYTES (4 << 20)

struct cxen_feed {
    int fd, dfd;                /* the file; the same file opened O_DIRECT */
    int pipe_rd, pipe_wr, stop_fd;
    dev_t dev;
    ino_t ino;
    off_t start, size;
    off_t fed;                  /* bytes from start put in the pipe (the thread's, until joined) */
    unsigned char *ring;
    unsigned char *map;         /* the file, mapped for mincore */
    size_t map_len;
    off_t map_start;
    int err;                    /* the thread's failure (errno), 0 if none */
    pthread_t thread;
};

/* Waits until the pipe has room or the feed is stopped: 1 room, 0 stopped. */
static int feed_wait_room(struct cxen_feed *f)
{
    for (;;) {
        struct pollfd p[2] = { { .fd = f->pipe_wr, .events = POLLOUT }, { .fd = f->stop_fd, .events = POLLIN } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            f->err = errno;
            return 0;
        }
        if (p[1].revents)
            return 0;
        if (p[0].revents & (POLLERR | POLLHUP)) {
            f->err = EPIPE;
            return 0;
        }
        if (p[0].revents & POLLOUT)
            return 1;
    }
}

/* Whether the page cache holds all of [from, to) of the file. */
static bool feed_cached(struct cxen_feed *f, off_t from, off_t to)
{
    if (!f->map)
        return false;
    long page = sysconf(_SC_PAGESIZE);
    off_t a = (from - f->map_start) & ~(off_t)(page - 1), b = to - f->map_start;
    size_t pages = (size_t)((b - a + page - 1) / page);
    unsigned char vec[FEED_CHUNK / 4096 + 2];
    if (pages > sizeof vec || mincore(f->map + a, (size_t)(b - a), vec) != 0)
        return false;
    for (size_t i = 0; i < pages; i++)
        if (!(vec[i] & 1))
            return false;
    return true;
}

/* Puts [pos, end) of the file into the pipe: 0, or -1 when stopped or failed. */
static int feed_chunk(struct cxen_feed *f, off_t pos, off_t end, size_t *ring_next)
{
    if (feed_cached(f, pos, end)) {
        off_t at = pos;
        while (at < end) {
            if (!feed_wait_room(f))
                return -1;
            ssize_t n = splice(f->fd, &at, f->pipe_wr, NULL, (size_t)(end - at), SPLICE_F_NONBLOCK);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                f->err = n < 0 ? errno : EIO;
                return -1;
            }
            f->fed += n;
        }
        return 0;
    }
    off_t base = pos & ~(off_t)(FEED_CHUNK - 1);
    unsigned char *buf = f->ring + (*ring_next % FEED_RING) * FEED_CHUNK;
    (*ring_next)++;
    size_t want = (size_t)(end - base);
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(f->dfd, buf + got, FEED_CHUNK - got, base + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            f->err = n < 0 ? errno : EIO;   /* the file shrank under us */
            return -1;
        }
        got += (size_t)n;
    }
    struct iovec iov = { .iov_base = buf + (pos - base), .iov_len = (size_t)(end - pos) };
    while (iov.iov_len > 0) {
        if (!feed_wait_room(f))
            return -1;
        ssize_t n = vmsplice(f->pipe_wr, &iov, 1, SPLICE_F_NONBLOCK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            f->err = n < 0 ? errno : EIO;
            return -1;
        }
        iov.iov_base = (unsigned char *)iov.iov_base + n;
        iov.iov_len -= (size_t)n;
        f->fed += n;
    }
    return 0;
}

static void *feed_run(void *arg)
{
    struct cxen_feed *f = arg;
    size_t ring_next = 0;
    off_t pos = f->start;
    while (pos < f->size) {
        /* The descriptor replaced (a signal ended the stream: see
         * SaveStreamIO in XenHost): the stream ends here for libxc too. */
        struct stat st;
        if (fstat(f->fd, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
            f->err = EINTR;
            break;
        }
        off_t end = (pos & ~(off_t)(FEED_CHUNK - 1)) + (off_t)FEED_CHUNK;
        if (end > f->size)
            end = f->size;
        if (feed_chunk(f, pos, end, &ring_next) != 0)
            break;
        pos = end;
    }
    close(f->pipe_wr);   /* libxc reads the end of the stream after what is in the pipe */
    f->pipe_wr = -1;
    return NULL;
}

struct cxen_feed *cxen_feed_start(int fd, int *pipe_rd)
{
    struct stat st;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pos >= st.st_size)
        return NULL;
    struct cxen_feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = fd;
    f->dfd = f->pipe_rd = f->pipe_wr = f->stop_fd = -1;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->start = pos;
    f->size = st.st_size;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int fds[2];
    f->dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (f->dfd < 0 || posix_memalign((void **)&f->ring, 4096, FEED_RING * FEED_CHUNK) != 0)
        goto fail;
    if (pipe2(fds, O_CLOEXEC) != 0)
        goto fail;
    f->pipe_rd = fds[0];
    f->pipe_wr = fds[1];
    /* A pipe larger than the ring allows would let a buffer be refilled
     * before libxc has read it. */
    int size = fcntl(f->pipe_wr, F_SETPIPE_SZ, FEED_PIPE_BYTES);
    if (size < 0)
        size = fcntl(f->pipe_wr, F_GETPIPE_SZ);
    if (size < 0 || (size_t)size > (FEED_RING - 1) * FEED_CHUNK)
        goto fail;
    f->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (f->stop_fd < 0)
        goto fail;
    long page = sysconf(_SC_PAGESIZE);
    f->map_start = pos & ~(off_t)(page - 1);
    f->map_len = (size_t)(f->size - f->map_start);
    void *map = mmap(NULL, f->map_len, PROT_READ, MAP_SHARED, fd, f->map_start);
    f->map = map == MAP_FAILED ? NULL : map;
    if (pthread_create(&f->thread, NULL, feed_run, f) != 0)
        goto fail;
    *pipe_rd = f->pipe_rd;
    return f;
fail:
    if (f->map)
        munmap(f->map, f->map_len);
    if (f->stop_fd >= 0)
        close(f->stop_fd);
    if (f->pipe_rd >= 0)
        close(f->pipe_rd);
    if (f->pipe_wr >= 0)
        close(f->pipe_wr);
    if (f->dfd >= 0)
        close(f->dfd);
    free(f->ring);
    free(f);
    return NULL;
}

int cxen_feed_finish(struct cxen_feed *f)
{
    uint64_t one = 1;
    (void)!write(f->stop_fd, &one, sizeof one);
    pthread_join(f->thread, NULL);
    int left = 0;
    int rc = 0;
    if (ioctl(f->pipe_rd, FIONREAD, &left) != 0)
        rc = -errno;
    else if (lseek(f->fd, f->start + f->fed - left, SEEK_SET) < 0)
        rc = -errno;
    int err = f->err;
    if (f->map)
        munmap(f->map, f->map_len);
    close(f->stop_fd);
    close(f->pipe_rd);
    if (f->pipe_wr >= 0)
        close(f->pipe_wr);
    close(f->dfd);
    free(f->ring);
    free(f);
    return rc != 0 ? rc : -err;
}

struct restore_call {
    cxen_handle *h;
    uint32_t domid;
    int cpuid_rc;
};

static int restore_static_data_done(unsigned int missing, void *data)
{
    struct restore_call *c = data;
    /* Streams from before Xen 4.14 carry no CPU policy: give the domain
     * the host's, as if it had been built here, marked as restored. */
    if (missing & XGR_SDD_MISSING_CPUID) {
        if (xc_cpuid_apply_policy(cxen__xch(c->h), c->domid, true, NULL, 0, true, false, false,
                                  NULL, NULL) != 0) {
            c->cpuid_rc = -cxen__err_now();
            return -1;
        }
    }
    return 0;
}

int cxen_domain_restore(cxen_handle *h, uint32_t domid, int fd, struct cxen_restore *r,
                        cxen_progress_fn progress, void *ctx)
{
    cxen__begin(h);
    r->store_port = r->console_port = 0;
    r->store_mfn = r->console_mfn = 0;

    xc_domaininfo_t di;
    if (xc_domain_getinfolist(cxen__xch(h), domid, 1, &di) != 1 || di.domain != domid)
        return cxen__fail(h, ESRCH, "domain %u", domid);
    if (di.flags & XEN_DOMINF_hvm_guest)
        return cxen__fail(h, EOPNOTSUPP, "swxl restores PV guests only; domain %u is PVH/HVM", domid);

    int store_port = xc_evtchn_alloc_unbound(cxen__xch(h), domid, r->store_domid);
    if (store_port < 0)
        return cxen__fail(h, cxen__err_now(), "xenstore event channel");
    int console_port = xc_evtchn_alloc_unbound(cxen__xch(h), domid, r->console_domid);
    if (console_port < 0)
        return cxen__fail(h, cxen__err_now(), "console event channel");
    cxen__trace("event channels allocated");

    struct restore_call call = { .h = h, .domid = domid };
    struct restore_callbacks cb;
    memset(&cb, 0, sizeof cb);   /* libxc needs the struct, even empty */
    cb.static_data_done = restore_static_data_done;
    cb.data = &call;

    struct restore_watch w = {
        .domid = domid, .total = r->expected_pages, .ctx = ctx, .fd = fd,
        .lock = PTHREAD_MUTEX_INITIALIZER, .done_cond = PTHREAD_COND_INITIALIZER,
    };
    if (progress && r->expected_pages > 0)
        w.progress = progress;
    struct stat st;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    bool uncached_file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pos >= 0 && cxen_file_cached(fd, pos) != 1;
    cxen__trace(uncached_file ? "the file is not cached" : "the file is cached (or not a file)");
    int stream_fd = fd;
    struct cxen_feed *feed = uncached_file && r->direct ? cxen_feed_start(fd, &stream_fd) : NULL;
    if (!feed && r->read_ahead_mib > 0 && uncached_file) {
        w.read_ahead = (off_t)r->read_ahead_mib << 20;
        w.drop_behind = cxen_restore_drops_behind(r->drop_behind, (long long)(st.st_size - pos),
                                                  r->drop_behind == CXEN_DROP_BEHIND_AUTO ? mem_available() : -1);
        w.size = st.st_size;
        w.requested = w.dropped = pos & ~(READ_AHEAD_STEP - 1);
        posix_fadvise(fd, pos, 0, POSIX_FADV_SEQUENTIAL);
    }
    pthread_t watcher;
    bool watching = (w.progress || w.read_ahead) &&
                    pthread_create(&watcher, NULL, restore_watch_run, &w) == 0;

    unsigned long store_mfn = 0, console_mfn = 0;
    cxen__trace(watching ? "xc_domain_restore starts (with the watch thread)" : "xc_domain_restore starts");
    errno = 0;
    int rc = xc_domain_restore(cxen__xch(h), stream_fd, domid,
                               (unsigned int)store_port, &store_mfn, r->store_domid,
                               (unsigned int)console_port, &console_mfn, r->console_domid,
                               XC_STREAM_PLAIN, &cb, -1);
    int err = cxen__err_now();
    cxen__trace("xc_domain_restore returned");
    /* The file's offset just past what libxc read, for the caller. */
    int feed_rc = feed ? cxen_feed_finish(feed) : 0;

    if (watching) {
        pthread_mutex_lock(&w.lock);
        w.done = true;
        pthread_cond_signal(&w.done_cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(watcher, NULL);
    }
    cxen__trace("the restore's threads ended");
    if (rc != 0) {
        if (feed_rc < 0 && feed_rc != -EINTR)
            return cxen__fail(h, -feed_rc, "reading the file for libxc");
        if (call.cpuid_rc < 0)
            return cxen__fail_after_xen(h, -call.cpuid_rc, "restoring: the host's CPU policy for an old stream");
        char what[64];
        snprintf(what, sizeof what, "restoring domain %u", domid);
        return cxen__fail_at_first_error(h, err, what);
    }
    if (feed_rc < 0 && feed_rc != -EINTR)
        return cxen__fail(h, -feed_rc, "reading the rest of the file after libxc's stream");
    if (progress && r->expected_pages > 0)
        progress(ctx, r->expected_pages, r->expected_pages);
    r->store_port = (uint32_t)store_port;
    r->console_port = (uint32_t)console_port;
    r->store_mfn = store_mfn;
    r->console_mfn = console_mfn;
    return 0;
}

/* ---- resume and event channels ------------------------------------ */

int cxen_domain_resume(cxen_handle *h, uint32_t domid)
{
    cxen__begin(h);
    xc_domaininfo_t di;
    if (xc_domain_getinfolist(cxen__xch(h), domid, 1, &di) != 1 || di.domain != domid)
        return cxen__fail(h, ESRCH, "domain %u", domid);
    if (!(di.flags & XEN_DOMINF_shutdown))
        return 0;   /* it never suspended: it runs on as it is */
    unsigned reason = (di.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
    if (reason != SHUTDOWN_suspend)
        return cxen__fail(h, EINVAL, "domain %u is shut down (reason %u), not suspended: nothing to resume",
                          domid, reason);
    errno = 0;
    if (xc_domain_resume(cxen__xch(h), domid, 1) != 0)
        return cxen__fail_after_xen(h, cxen__err_now(), "resuming the domain");
    return 0;
}

int cxen_evtchn_alloc_unbound(cxen_handle *h, uint32_t domid, uint32_t remote, uint32_t *port)
{
    cxen__begin(h);
    *port = 0;
    int p = xc_evtchn_alloc_unbound(cxen__xch(h), domid, remote);
    if (p < 0)
        return cxen__fail(h, cxen__err_now(), "event channel in domain %u for domain %u", domid, remote);
    *port = (uint32_t)p;
    return 0;
}
