// glibc's malloc tuning (<malloc.h> is not in Swift's Glibc module).
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "CSwxlSystem.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14 */
#endif

static int keeping_large_blocks;

void swxl_malloc_keep_large_blocks(void) {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    keeping_large_blocks = 1;
}

size_t swxl_malloc_mapped_bytes(void) {
    return mallinfo2().hblkhd;
}

long swxl_malloc_prefault(size_t bytes) {
    if (!keeping_large_blocks)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    unsigned char *block = malloc(bytes);
    if (block == NULL)
        return -ENOMEM;
    uintptr_t start = ((uintptr_t)block + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)block + bytes) & ~(page - 1);
    long populated = 0;
    if (end > start)
        populated = madvise((void *)start, end - start, MADV_POPULATE_WRITE) == 0 ? (long)((end - start) / page) : -errno;
    free(block);
    return populated;
}
