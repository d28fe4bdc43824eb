/*
 * One raw xenstore request over a daemon's Unix socket, for the harness's
 * comparison of request semantics between Xen's xenstored and swxl's
 * (checks-xenstored-requests.sh): requests no xenstore-* tool sends, with
 * arguments no library would build.
 *
 *   xq-xsraw SOCKET TYPE [ARG...]
 *
 * TYPE is the request's number (xs_wire.h: 17 IS_DOMAIN_INTRODUCED, ...);
 * each ARG is sent NUL-terminated, in one message (transaction 0). Prints
 * the reply as "<type> <payload>", each NUL of the payload shown as '|'
 * (an error: "16 ENOENT|"). Exit 1 if there was no reply.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct header { uint32_t type, req_id, tx_id, len; };

static int full(int fd, void *buf, size_t n, int writing)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = writing ? write(fd, p, n) : read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: xq-xsraw SOCKET TYPE [ARG...]\n");
        return 2;
    }
    char payload[4096];
    size_t len = 0;
    for (int i = 3; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (len + n > sizeof payload) {
            fprintf(stderr, "xq-xsraw: arguments too long\n");
            return 2;
        }
        memcpy(payload + len, argv[i], n);
        len += n;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("xq-xsraw: connect");
        return 1;
    }
    struct header h = { (uint32_t)atoi(argv[2]), 1, 0, (uint32_t)len };
    if (full(fd, &h, sizeof h, 1) || full(fd, payload, len, 1)) {
        perror("xq-xsraw: write");
        return 1;
    }
    struct header r;
    static char reply[65536];
    if (full(fd, &r, sizeof r, 0) || r.len > sizeof reply || full(fd, reply, r.len, 0)) {
        fprintf(stderr, "xq-xsraw: no reply\n");
        return 1;
    }
    for (uint32_t i = 0; i < r.len; i++)
        if (reply[i] == '\0')
            reply[i] = '|';
    printf("%u %.*s\n", r.type, (int)r.len, reply);
    close(fd);
    return 0;
}
