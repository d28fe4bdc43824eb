/*
 * The uncompressed-kernel cache. See cxen_kernel_uncompressed() and
 * cxen_ramdisk_uncompressed() in cxen.h.
 *
 * Unpacking a compressed kernel is most of the time a PV domain build takes
 * (a 12 MiB gzip'd vmlinux takes over a second to inflate under QEMU), and
 * libxenguest does it again on every create. swxl unpacks each kernel file
 * once and keeps the ELF, keyed by the file's identity (device, inode, size,
 * modification time), in a directory only root may write.
 *
 * Formats: gzip'd ELF; a bzImage whose payload is gzip, xz or lzma. Anything
 * else is handed to libxenguest as it is.
 */
#define _GNU_SOURCE
#include "cxen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lzma.h>
#include <zlib.h>

/* The largest kernel we unpack (Xen's own limit for the builder). */
#define MAX_UNPACKED (1024ull * 1024 * 1024)

enum packing { PACK_NONE, PACK_GZIP, PACK_XZ, PACK_LZMA };

static enum packing packing_of(const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return PACK_GZIP;
    if (n >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
        return PACK_XZ;
    if (n >= 3 && p[0] == 0x5d && p[1] == 0 && p[2] == 0)
        return PACK_LZMA;
    return PACK_NONE;
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The compressed payload of the file: the whole file for a compressed ELF,
 * the payload inside a bzImage, or nothing (*len = 0). */
static enum packing find_payload(const uint8_t *p, size_t n, size_t *off, size_t *len)
{
    *off = 0;
    *len = 0;
    enum packing k = packing_of(p, n);
    if (k != PACK_NONE) {
        *len = n;
        return k;
    }
    /* bzImage: "HdrS" at 0x202, boot protocol >= 2.08 for the payload fields. */
    if (n < 0x250 || memcmp(p + 0x202, "HdrS", 4) != 0)
        return PACK_NONE;
    uint16_t version = (uint16_t)(p[0x206] | p[0x207] << 8);
    if (version < 0x208)
        return PACK_NONE;
    unsigned setup_sects = p[0x1f1] ? p[0x1f1] : 4;
    size_t start = (size_t)(setup_sects + 1) * 512 + le32(p + 0x248);
    size_t plen = le32(p + 0x24c);
    if (start >= n || plen > n - start)
        return PACK_NONE;
    k = packing_of(p + start, plen);
    if (k == PACK_NONE)
        return PACK_NONE;
    *off = start;
    *len = plen;
    return k;
}

/* Unpacks src into fd. Returns 0 or -errno (-EINVAL for corrupt data). */
static int unpack_gzip(const uint8_t *src, size_t n, int fd)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* Per call, not static: several threads may unpack at once. */
    enum { OUT_SIZE = 1 << 20 };
    uint8_t *out = malloc(OUT_SIZE);
    if (!out || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        z.next_out = out;
        z.avail_out = OUT_SIZE;
        int zr = inflate(&z, Z_NO_FLUSH);
        size_t got = OUT_SIZE - z.avail_out;
        total += got;
        if (total > MAX_UNPACKED) { rc = -EFBIG; break; }
        if (got && write(fd, out, got) != (ssize_t)got) { rc = -(errno ? errno : EIO); break; }
        if (zr == Z_STREAM_END) break;
        /* A bzImage payload may be followed by padding; a gzip'd ELF ends here. */
        if (zr != Z_OK) { rc = -EINVAL; break; }
    }
    inflateEnd(&z);
    free(out);
    return rc;
}

static int unpack_xz(const uint8_t *src, size_t n, int fd, int alone)
{
    lzma_stream s = LZMA_STREAM_INIT;
    enum { OUT_SIZE = 1 << 20 };
    uint8_t *out = malloc(OUT_SIZE);
    if (!out)
        return -ENOMEM;
    lzma_ret r = alone ? lzma_alone_decoder(&s, UINT64_MAX)
                       : lzma_stream_decoder(&s, UINT64_MAX, 0);
    if (r != LZMA_OK) {
        free(out);
        return -ENOMEM;
    }
    s.next_in = src;
    s.avail_in = n;
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        s.next_out = out;
        s.avail_out = OUT_SIZE;
        r = lzma_code(&s, LZMA_FINISH);
        size_t got = OUT_SIZE - s.avail_out;
        total += got;
        if (total > MAX_UNPACKED) { rc = -EFBIG; break; }
        if (got && write(fd, out, got) != (ssize_t)got) { rc = -(errno ? errno : EIO); break; }
        if (r == LZMA_STREAM_END) break;
        if (r != LZMA_OK) { rc = -EINVAL; break; }
    }
    lzma_end(&s);
    free(out);
    return rc;
}

/* The cache directory exists (made 0700 if missing), is ours and no one
 * else may write to it. */
static int cache_dir_ok(const char *dir)
{
    char parent[4096];
    if (strlen(dir) >= sizeof parent)
        return 0;
    strcpy(parent, dir);
    for (char *s = parent + 1; *s; s++) {   /* parents as `mkdir -p` makes them */
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(parent, 0755) != 0 && errno != EEXIST)
            return 0;
        *s = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return 0;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    return st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

/* Entries unused this long are removed when a new one is written; so are
 * temporary files a crashed unpack left behind. */
#define UNUSED_SECONDS (30L * 24 * 3600)
#define STALE_TEMP_SECONDS (3600L)

static void prune(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        size_t n = strlen(e->d_name);
        int entry = n > 4 && strcmp(e->d_name + n - 4, ".elf") == 0;
        long age = (long)(now - st.st_mtime);
        if ((entry && age > UNUSED_SECONDS) || (!entry && strstr(e->d_name, ".elf.") && age > STALE_TEMP_SECONDS))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static int copy_path(char *out, size_t cap, const char *path)
{
    if (strlen(path) >= cap)
        return -ENAMETOOLONG;
    strcpy(out, path);
    return 0;
}

static int uncompressed(const char *path, const char *cache_dir, char *out, size_t cap, int kernel);

int cxen_kernel_uncompressed(const char *path, const char *cache_dir, char *out, size_t cap)
{
    return uncompressed(path, cache_dir, out, cap, 1);
}

int cxen_ramdisk_uncompressed(const char *path, const char *cache_dir, char *out, size_t cap)
{
    return uncompressed(path, cache_dir, out, cap, 0);
}

/* `kernel`: every format above; else only a gzip'd file, the one format
 * libxenguest itself unpacks a ramdisk from before loading it. */
static int uncompressed(const char *path, const char *cache_dir, char *out, size_t cap, int kernel)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return copy_path(out, cap, path);   /* libxenguest gives the precise error */
    }
    if (!cache_dir || !*cache_dir || !cache_dir_ok(cache_dir)) {
        close(fd);
        return copy_path(out, cap, path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return copy_path(out, cap, path);
    size_t off, len;
    enum packing k = find_payload(p, n, &off, &len);
    if (!kernel && (off != 0 || k != PACK_GZIP))
        k = PACK_NONE;
    if (k == PACK_NONE) {
        munmap(p, n);
        return copy_path(out, cap, path);
    }

    char cached[4096];
    int w = snprintf(cached, sizeof cached, "%s/%llx-%llx-%llx-%llx.%09ld.elf", cache_dir,
                     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                     (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
                     (long)st.st_mtim.tv_nsec);
    if (w < 0 || (size_t)w >= sizeof cached || (size_t)w >= cap) {
        munmap(p, n);
        return copy_path(out, cap, path);
    }
    struct stat cst;
    if (stat(cached, &cst) == 0 && S_ISREG(cst.st_mode) && cst.st_uid == geteuid()) {
        munmap(p, n);
        utimensat(AT_FDCWD, cached, NULL, 0);   /* used now: kept from pruning */
        strcpy(out, cached);
        return 0;
    }
    prune(cache_dir);

    /* Unpack into a temporary file, then rename: a reader never sees half a kernel. */
    char tmp[4096 + 16];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", cached);
    int tfd = mkostemp(tmp, O_CLOEXEC);
    if (tfd < 0) {
        munmap(p, n);
        return copy_path(out, cap, path);
    }
    int rc = k == PACK_GZIP ? unpack_gzip(p + off, len, tfd)
                            : unpack_xz(p + off, len, tfd, k == PACK_LZMA);
    munmap(p, n);
    if (rc == 0 && fsync(tfd) != 0)
        rc = -errno;
    close(tfd);
    if (rc == 0 && rename(tmp, cached) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        /* Corrupt or too big: let libxenguest try, and report, on its own. */
        return copy_path(out, cap, path);
    }
    strcpy(out, cached);
    return 0;
}
