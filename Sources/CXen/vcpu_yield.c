/* Yielding dom0's vCPU to the hypervisor's scheduler, for the xenstore
 * daemon's poll of guests' rings: sched_yield only hands the vCPU to
 * dom0's other tasks, while a guest's vCPU that Xen runs on the same
 * physical CPU waits until dom0's vCPU blocks or its time slice ends. */
#define __XEN_TOOLS__ 1   /* the tools' hypercall interface (sched_op, not its compat form) */
#include "cxen.h"

#include <errno.h>
#include <stdlib.h>
#include <xencall.h>
#include <xen/xen.h>
#include <xen/sched.h>

struct cxen_vcpu_yielder {
    xencall_handle *call;
};

cxen_vcpu_yielder *cxen_vcpu_yielder_open(void)
{
    xencall_handle *call = xencall_open(NULL, 0);
    if (!call)
        return NULL;
    cxen_vcpu_yielder *y = malloc(sizeof *y);
    if (!y) {
        xencall_close(call);
        errno = ENOMEM;
        return NULL;
    }
    y->call = call;
    return y;
}

void cxen_vcpu_yielder_close(cxen_vcpu_yielder *y)
{
    if (!y)
        return;
    xencall_close(y->call);
    free(y);
}

int cxen_vcpu_yield(cxen_vcpu_yielder *y)
{
    return xencall2(y->call, __HYPERVISOR_sched_op, SCHEDOP_yield, 0) < 0 ? -errno : 0;
}
