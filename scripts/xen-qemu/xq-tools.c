/*
 * Small timing helpers for the dom0 of the real-Xen harness (busybox has no
 * sub-second clock):
 *
 *   xq-tools now                         monotonic milliseconds
 *   xq-tools wait FILE MARKER TIMEOUT_MS wait until FILE contains MARKER;
 *                                        prints the milliseconds waited,
 *                                        exit 1 on timeout
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int file_has(const char *path, const char *marker)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return memmem(buf, n, marker, strlen(marker)) != NULL;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "now") == 0) {
        printf("%lld\n", now_ms());
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "wait") == 0) {
        long long start = now_ms(), limit = atoll(argv[4]);
        struct timespec tick = { 0, 5 * 1000 * 1000 };
        for (;;) {
            if (file_has(argv[2], argv[3])) {
                printf("%lld\n", now_ms() - start);
                return 0;
            }
            if (now_ms() - start > limit)
                return 1;
            nanosleep(&tick, NULL);
        }
    }
    fprintf(stderr, "usage: xq-tools now | wait FILE MARKER TIMEOUT_MS\n");
    return 2;
}
