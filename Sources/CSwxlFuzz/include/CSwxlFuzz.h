#ifndef CSWXLFUZZ_H
#define CSWXLFUZZ_H
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's driver (compiler-rt's FuzzerInterface.h), linked into
 * swxl-fuzz when scripts/fuzz builds it with -sanitize=fuzzer; swxl-fuzz's
 * own main calls it. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
