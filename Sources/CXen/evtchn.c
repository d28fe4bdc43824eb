/* Event channels for swxl's xenstored, over libxenevtchn. */
#include "cxen.h"

#include <errno.h>
#include <xenevtchn.h>

static int result(int r)
{
    return r < 0 ? -(errno ? errno : EIO) : r;
}

cxen_evtchn *cxen_evtchn_open(void)
{
    return (cxen_evtchn *)xenevtchn_open(NULL, 0);
}

void cxen_evtchn_close(cxen_evtchn *e)
{
    if (e)
        xenevtchn_close((xenevtchn_handle *)e);
}

int cxen_evtchn_fd(cxen_evtchn *e)
{
    return result(xenevtchn_fd((xenevtchn_handle *)e));
}

int cxen_evtchn_bind_interdomain(cxen_evtchn *e, uint32_t domid, uint32_t remote_port)
{
    errno = 0;
    return result(xenevtchn_bind_interdomain((xenevtchn_handle *)e, domid, remote_port));
}

int cxen_evtchn_unbind(cxen_evtchn *e, uint32_t port)
{
    errno = 0;
    return result(xenevtchn_unbind((xenevtchn_handle *)e, port));
}

int cxen_evtchn_notify(cxen_evtchn *e, uint32_t port)
{
    errno = 0;
    return result(xenevtchn_notify((xenevtchn_handle *)e, port));
}

int cxen_evtchn_pending(cxen_evtchn *e)
{
    errno = 0;
    return result(xenevtchn_pending((xenevtchn_handle *)e));
}

int cxen_evtchn_unmask(cxen_evtchn *e, uint32_t port)
{
    errno = 0;
    return result(xenevtchn_unmask((xenevtchn_handle *)e, port));
}
