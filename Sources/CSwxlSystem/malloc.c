// glibc's malloc tuning (<malloc.h> is not in Swift's Glibc module).
#include <malloc.h>
#include "CSwxlSystem.h"

void swxl_malloc_keep_large_blocks(void) {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

size_t swxl_malloc_mapped_bytes(void) {
    return mallinfo2().hblkhd;
}
