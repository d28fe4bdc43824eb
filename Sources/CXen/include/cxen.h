#ifndef CXEN_H
#define CXEN_H
/* The C bridge over libxenctrl/libxenguest. Plain C types only. */
int cxen_available(void);
#endif
