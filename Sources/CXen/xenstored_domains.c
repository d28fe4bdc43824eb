/* What swxl's xenstored needs of the hypervisor for guests' rings, beyond
 * event channels (evtchn.c): the guest's xenstore page mapped through its
 * grant table's reserved entry (as Xen 4.17's C xenstored does), or by its
 * frame number (as Xen 4.17's OCaml xenstored does), and VIRQ_DOM_EXC. */
#include "cxen.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xentoollog.h>
#include <xen/grant_table.h>
#include <xen/xen.h>

/* The libraries' own messages would go to stderr with a NULL logger: the
 * daemon says what failed itself (from errno). */
static void quiet_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                           const char *context, const char *format, va_list al)
{
    (void)lg; (void)level; (void)errnoval; (void)context; (void)format; (void)al;
}

static void quiet_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                           int percent, unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done; (void)total;
}

static void quiet_destroy(xentoollog_logger *lg) { (void)lg; }

static xentoollog_logger quiet = {
    .vmessage = quiet_vmessage,
    .progress = quiet_progress,
    .destroy = quiet_destroy,
};

static int err_now(void)
{
    return errno ? errno : EIO;
}

cxen_gnttab *cxen_gnttab_open(void)
{
    xengnttab_handle *g = xengnttab_open(&quiet, 0);
    if (g)
        /* As Xen's daemon: room for one ring per possible domain (the result is advisory). */
        xengnttab_set_max_grants(g, DOMID_FIRST_RESERVED);
    return (cxen_gnttab *)g;
}

void cxen_gnttab_close(cxen_gnttab *g)
{
    if (g)
        xengnttab_close((xengnttab_handle *)g);
}

void *cxen_gnttab_map_xenstore(cxen_gnttab *g, uint32_t domid, int *err)
{
    errno = 0;
    void *p = xengnttab_map_grant_ref((xengnttab_handle *)g, domid, GNTTAB_RESERVED_XENSTORE,
                                      PROT_READ | PROT_WRITE);
    *err = p ? 0 : err_now();
    return p;
}

int cxen_gnttab_unmap(cxen_gnttab *g, void *page)
{
    errno = 0;
    return xengnttab_unmap((xengnttab_handle *)g, page, 1) < 0 ? -err_now() : 0;
}

cxen_foreign *cxen_foreign_open(void)
{
    return (cxen_foreign *)xenforeignmemory_open(&quiet, 0);
}

void cxen_foreign_close(cxen_foreign *f)
{
    if (f)
        xenforeignmemory_close((xenforeignmemory_handle *)f);
}

void *cxen_foreign_map_page(cxen_foreign *f, uint32_t domid, uint64_t frame, int *err)
{
    xen_pfn_t pfn = (xen_pfn_t)frame;
    int page_err = 0;
    errno = 0;
    void *p = xenforeignmemory_map((xenforeignmemory_handle *)f, domid, PROT_READ | PROT_WRITE,
                                   1, &pfn, &page_err);
    if (p && page_err) {
        /* Mapped, but the frame itself was refused. */
        xenforeignmemory_unmap((xenforeignmemory_handle *)f, p, 1);
        *err = page_err < 0 ? -page_err : page_err;
        return NULL;
    }
    *err = p ? 0 : err_now();
    return p;
}

int cxen_foreign_unmap(cxen_foreign *f, void *page)
{
    errno = 0;
    return xenforeignmemory_unmap((xenforeignmemory_handle *)f, page, 1) < 0 ? -err_now() : 0;
}

int cxen_evtchn_bind_dom_exc(cxen_evtchn *e)
{
    errno = 0;
    int r = xenevtchn_bind_virq((xenevtchn_handle *)e, VIRQ_DOM_EXC);
    return r < 0 ? -err_now() : r;
}
