#ifndef CXEN_PRIVATE_H
#define CXEN_PRIVATE_H
/*
 * What the bridge's C files share about a cxen_handle (defined in cxen.c).
 * Not part of the bridge's interface: Swift never sees this header.
 */
#include "cxen.h"
#include <xenctrl.h>

xc_interface *cxen__xch(cxen_handle *h);
/* Clears the last error: every operation starts with none. */
void cxen__begin(cxen_handle *h);
/* errno after a failed libxc call, never 0. */
int cxen__err_now(void);
/* Records an error of ours ("<what>: <strerror(err)>") and returns -err. */
int cxen__fail(cxen_handle *h, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* After a libxc call failed: "<what>: <Xen's last message>" when Xen
 * logged one (errno is often stale then), else as cxen__fail. */
int cxen__fail_after_xen(cxen_handle *h, int err, const char *what);
/* As cxen__fail_after_xen, naming the operation's first error too when
 * Xen logged several (libxc's last one, "Restore failed", hides the cause). */
int cxen__fail_at_first_error(cxen_handle *h, int err, const char *what);
/* With SWXL_TRACE_TIMES set, "swxl-trace: <CLOCK_MONOTONIC ms> bridge: <what>"
 * on stderr, as swxl's PhaseTrace writes its phases; nothing otherwise. */
void cxen__trace(const char *what);
/* Sends libxc's progress reports to `fn` (NULL: back to the log). */
void cxen__set_progress(cxen_handle *h, cxen_progress_fn fn, void *ctx);

#endif
