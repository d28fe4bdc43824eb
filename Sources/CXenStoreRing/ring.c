#include "CXenStoreRing.h"

#include <string.h>

static inline volatile uint32_t *field(void *page, uint32_t offset)
{
    return (volatile uint32_t *)((char *)page + offset);
}

uint32_t xsr_load(void *page, uint32_t offset)
{
    return __atomic_load_n(field(page, offset), __ATOMIC_RELAXED);
}

void xsr_store(void *page, uint32_t offset, uint32_t value)
{
    __atomic_store_n(field(page, offset), value, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int xsr_read_requests(void *page, void *buf, uint32_t len)
{
    uint32_t cons = xsr_load(page, XSR_REQ_CONS);
    uint32_t prod = xsr_load(page, XSR_REQ_PROD);
    /* The data written before req_prod is read after it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t avail = prod - cons;
    if (avail > XSR_RING_SIZE)
        return -1;
    uint32_t n = avail < len ? avail : len;
    if (n == 0)
        return 0;
    uint32_t start = cons & (XSR_RING_SIZE - 1);
    uint32_t first = XSR_RING_SIZE - start;
    if (first > n)
        first = n;
    const char *ring = (const char *)page + XSR_REQ;
    memcpy(buf, ring + start, first);
    if (n > first)
        memcpy((char *)buf + first, ring, n - first);
    /* The copy is done before the guest may reuse the space. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    xsr_store(page, XSR_REQ_CONS, cons + n);
    return (int)n;
}

int xsr_write_replies(void *page, const void *buf, uint32_t len)
{
    uint32_t cons = xsr_load(page, XSR_RSP_CONS);
    uint32_t prod = xsr_load(page, XSR_RSP_PROD);
    /* The guest's reads of the space it freed are done before we reuse it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t used = prod - cons;
    if (used > XSR_RING_SIZE)
        return -1;
    uint32_t room = XSR_RING_SIZE - used;
    uint32_t n = room < len ? room : len;
    if (n == 0)
        return 0;
    uint32_t start = prod & (XSR_RING_SIZE - 1);
    uint32_t first = XSR_RING_SIZE - start;
    if (first > n)
        first = n;
    char *ring = (char *)page + XSR_RSP;
    memcpy(ring + start, buf, first);
    if (n > first)
        memcpy(ring, (const char *)buf + first, n - first);
    /* The data is visible before the index that announces it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    xsr_store(page, XSR_RSP_PROD, prod + n);
    return (int)n;
}

int xsr_requests_waiting(void *page)
{
    return xsr_load(page, XSR_REQ_PROD) != xsr_load(page, XSR_REQ_CONS);
}

int xsr_quiet(void *page)
{
    return xsr_load(page, XSR_CONNECTION) == XSR_CONNECTED && !xsr_requests_waiting(page);
}

/*
 * xsr_poll pauses once every this many looks, not after each: under QEMU's
 * TCG a PAUSE ends the vCPU's run of translated code ("let another CPU
 * run"), and the vCPU thread then takes QEMU's global lock on its way back,
 * which the other vCPUs need to deliver interrupts: a poll that paused
 * after every look took that lock hundreds of times a millisecond, beside
 * the guest's vCPU it waits for. 256: the poll looks after each of its
 * system calls (four a turn of the loop under Xen), so it pauses about as
 * often a second as when it looked 512 times a turn and paused every 64th.
 * On hardware, a look is a few nanoseconds and 256 of them still end in a
 * pause within a microsecond or so.
 */
#define XSR_POLL_PAUSE_EVERY 256

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int has_room(void *page)
{
    return xsr_load(page, XSR_RSP_PROD) - xsr_load(page, XSR_RSP_CONS) < XSR_RING_SIZE;
}

int xsr_poll(void *const *pages, const uint8_t *looks, uint32_t count, uint32_t spins)
{
    for (uint32_t s = 0; s < spins; s++) {
        for (uint32_t i = 0; i < count; i++) {
            if ((looks[i] & XSR_LOOK_REQUESTS) && xsr_requests_waiting(pages[i]))
                return (int)i;
            if ((looks[i] & XSR_LOOK_ROOM) && has_room(pages[i]))
                return (int)i;
        }
        if (s % XSR_POLL_PAUSE_EVERY == XSR_POLL_PAUSE_EVERY - 1)
            cpu_relax();
        else
            __atomic_signal_fence(__ATOMIC_SEQ_CST);   /* the indices read again, not hoisted */
    }
    return -1;
}

void xsr_reset(void *page)
{
    memset((char *)page + XSR_REQ, 0xff, XSR_RING_SIZE);
    memset((char *)page + XSR_RSP, 0xff, XSR_RING_SIZE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    xsr_store(page, XSR_REQ_CONS, 0);
    xsr_store(page, XSR_REQ_PROD, 0);
    xsr_store(page, XSR_RSP_CONS, 0);
    xsr_store(page, XSR_RSP_PROD, 0);
}
