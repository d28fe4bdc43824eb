/* Only the declaration in include/CSwxlFuzz.h; a C target needs a source file. */
#include "CSwxlFuzz.h"
