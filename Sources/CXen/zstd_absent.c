/*
 * libxenguest can unpack zstd-compressed kernels, which needs libzstd.
 * Debian ships libzstd only as a shared library, and swxl links Xen's
 * libraries statically (see docs/real-xen.md), so swxl provides the three
 * functions libxenguest calls and refuses zstd kernels with a clear message.
 * Kernels compressed with gzip, xz, lzma or bzip2, and plain ELF, all load.
 */
#include <stddef.h>

#define CXEN_ZSTD_UNSUPPORTED ((size_t)-1)

size_t ZSTD_decompress(void *dst, size_t dst_capacity, const void *src, size_t src_size);
unsigned ZSTD_isError(size_t code);
const char *ZSTD_getErrorName(size_t code);

size_t ZSTD_decompress(void *dst, size_t dst_capacity, const void *src, size_t src_size)
{
    (void)dst; (void)dst_capacity; (void)src; (void)src_size;
    return CXEN_ZSTD_UNSUPPORTED;
}

unsigned ZSTD_isError(size_t code)
{
    return code == CXEN_ZSTD_UNSUPPORTED;
}

const char *ZSTD_getErrorName(size_t code)
{
    (void)code;
    return "zstd-compressed kernels are not supported by swxl; decompress the kernel "
           "or compress it with gzip or xz";
}
