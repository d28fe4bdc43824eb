#include "cxen.h"
int cxen_available(void) { return 0; }
