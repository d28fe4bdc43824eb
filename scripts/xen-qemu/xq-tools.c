/*
 * Small timing helpers for the dom0 of the real-Xen harness (busybox has no
 * sub-second clock):
 *
 *   xq-tools now                         monotonic milliseconds
 *   xq-tools wait FILE MARKER TIMEOUT_MS wait until FILE contains MARKER;
 *                                        prints the milliseconds waited,
 *                                        exit 1 on timeout
 *   xq-tools after FILE OFFSET MARKER TIMEOUT_MS
 *                                        wait until FILE holds MARKER past
 *                                        byte OFFSET; prints the monotonic
 *                                        milliseconds when it was seen
 *                                        (polls every 2 ms, reading only
 *                                        what is new), exit 1 on timeout
 *   xq-tools stamp                       copies stdin to stdout, each line
 *                                        led by the monotonic milliseconds
 *                                        it was read at
 *   xq-tools doorbell DOMID PORT TIMEOUT_MS
 *                                        rings a guest's doorbell (xq-xsbench
 *                                        -d): binds an event channel to the
 *                                        guest's PORT, notifies it and waits
 *                                        for the guest to notify back (its
 *                                        round done; the event Xen sets as
 *                                        it binds is not taken for it: at
 *                                        most 2 s for that one); exit 1 on
 *                                        timeout. The
 *                                        binding is closed on exit, and the
 *                                        guest's port is free for the next.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <xen/xen.h>          /* domid_t, for evtchn.h */
#include <xen/sys/evtchn.h>

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
    if (argc == 6 && strcmp(argv[1], "after") == 0) {
        long long start = now_ms(), limit = atoll(argv[5]);
        long long from = atoll(argv[3]);
        size_t mlen = strlen(argv[4]);
        struct timespec tick = { 0, 2 * 1000 * 1000 };
        static char buf[1 << 20];
        for (;;) {
            struct stat st;
            if (stat(argv[2], &st) == 0 && st.st_size > from) {
                FILE *f = fopen(argv[2], "r");
                if (f && fseek(f, from, SEEK_SET) == 0) {
                    size_t n = fread(buf, 1, sizeof buf - 1, f);
                    if (memmem(buf, n, argv[4], mlen)) {
                        printf("%lld\n", now_ms());
                        fclose(f);
                        return 0;
                    }
                }
                if (f)
                    fclose(f);
            }
            if (now_ms() - start > limit)
                return 1;
            nanosleep(&tick, NULL);
        }
    }
    if (argc == 2 && strcmp(argv[1], "stamp") == 0) {
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            printf("%lld %s", now_ms(), line);
            fflush(stdout);
        }
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "doorbell") == 0) {
        int fd = open("/dev/xen/evtchn", O_RDWR);
        struct ioctl_evtchn_bind_interdomain bind = {
            .remote_domain = (uint32_t)atoi(argv[2]), .remote_port = (uint32_t)atoi(argv[3]) };
        int port = fd < 0 ? -1 : ioctl(fd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
        if (port < 0) {
            perror("xq-tools doorbell");
            return 1;
        }
        /* Xen sets the new port pending as it binds it (a notification
         * lost on the unbound port): that event is taken first, not taken
         * for the guest's answer. */
        struct pollfd back = { .fd = fd, .events = POLLIN };
        unsigned int fired;
        if (poll(&back, 1, 2000) == 1 && read(fd, &fired, sizeof fired) == sizeof fired)
            (void)!write(fd, &fired, sizeof fired);   /* unmasked */
        struct ioctl_evtchn_notify ring = { .port = (uint32_t)port };
        if (ioctl(fd, IOCTL_EVTCHN_NOTIFY, &ring) < 0) {
            perror("xq-tools doorbell");
            return 1;
        }
        if (poll(&back, 1, atoi(argv[4])) != 1 || read(fd, &fired, sizeof fired) != sizeof fired) {
            fprintf(stderr, "xq-tools doorbell: no answer from domain %s\n", argv[2]);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "usage: xq-tools now | wait FILE MARKER TIMEOUT_MS | after FILE OFFSET MARKER TIMEOUT_MS | stamp"
            " | doorbell DOMID PORT TIMEOUT_MS\n");
    return 2;
}
