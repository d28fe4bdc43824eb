#ifndef CXENSTORERING_H
#define CXENSTORERING_H

#include <stdint.h>

/* The daemon's side of a xenstore ring page (struct xenstore_domain_interface
 * of xen/include/public/io/xs_wire.h, laid out here by offset so that only
 * CXen includes Xen's headers): every access to the shared page, with the
 * barriers and the index checks, and nothing else. */

enum {
    XSR_RING_SIZE = 1024,
    XSR_REQ = 0,
    XSR_RSP = 1024,
    XSR_REQ_CONS = 2048,
    XSR_REQ_PROD = 2052,
    XSR_RSP_CONS = 2056,
    XSR_RSP_PROD = 2060,
    XSR_SERVER_FEATURES = 2064,
    XSR_CONNECTION = 2068,
    XSR_ERROR = 2072,
    XSR_CONNECTED = 0,
    XSR_PAGE_SIZE = 4096
};

/* Takes up to `len` request bytes out of the ring into `buf`: both indices
 * read once, checked (prod - cons <= 1024 in wrapping 32-bit arithmetic),
 * a full barrier, the copy (at most two pieces around the wrap), a full
 * barrier, then req_cons published. Returns the bytes taken (0: none
 * there), or -1 if the indices are corrupt (nothing is touched). */
int xsr_read_requests(void *page, void *buf, uint32_t len);

/* Puts up to `len` bytes of `buf` into the reply ring, as much as there is
 * room for, the same way (rsp_prod published last). Returns the bytes
 * put (0: ring full), or -1 if the indices are corrupt. */
int xsr_write_replies(void *page, const void *buf, uint32_t len);

/* Whether the request ring holds bytes (req_prod != req_cons, one read each). */
int xsr_requests_waiting(void *page);

/* Whether the page asks nothing of the daemon: `connection` is
 * XENSTORE_CONNECTED (0) and the request ring is empty. */
int xsr_quiet(void *page);

/* What xsr_poll() looks for in a page: request bytes (req_prod !=
 * req_cons), room in the reply ring (rsp_prod - rsp_cons below the ring's
 * size, i.e. the guest read some of a full ring). */
enum { XSR_LOOK_REQUESTS = 1, XSR_LOOK_ROOM = 2 };

/* Looks at the indices of `count` pages, `spins` times over, for a page
 * where what `looks[i]` asks for is there: plain loads, no system call, a
 * CPU pause between passes. Returns the index of the first such page, or
 * -1 if none. */
int xsr_poll(void *const *pages, const uint8_t *looks, uint32_t count, uint32_t spins);

/* One 32-bit field of the page (XSR_SERVER_FEATURES, XSR_CONNECTION, ...):
 * a real load or store every time, with a full barrier after a store. */
uint32_t xsr_load(void *page, uint32_t offset);
void xsr_store(void *page, uint32_t offset, uint32_t value);

/* A reconnection's reset: both data areas filled with 0xff (stale bytes
 * read as no valid message), the four indices zeroed, a full barrier. */
void xsr_reset(void *page);

#endif
