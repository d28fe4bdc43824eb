/*
 * A terminal for the console checks of the real-Xen harness (dom0 has
 * busybox only): runs a console client on a pseudo-terminal, as a person
 * at a terminal would, types one command into the guest and reads the
 * answer, then detaches with Ctrl-].
 *
 *   xq-pty WAITFOR COMMAND ANSWER TIMEOUT_MS PROGRAM [ARG...]
 *
 * Runs PROGRAM on a new pty (its stdin, stdout, stderr and controlling
 * terminal); waits until PROGRAM has put the terminal in raw mode (it has
 * attached) and, unless WAITFOR is empty, until its output holds WAITFOR;
 * types COMMAND and a carriage return (Enter); waits until the output holds
 * ANSWER; types Ctrl-] (0x1d) and waits for PROGRAM to exit. Prints what
 * PROGRAM printed (escaped, one line) and a summary line:
 *   XQ-PTY: attached=1 answer=1 exit=0 restored=1
 * exit 0 iff PROGRAM attached, the answer came, PROGRAM exited 0 after the
 * Ctrl-] and the terminal's settings are as they were before it started.
 * TIMEOUT_MS bounds each wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static char seen[1 << 16];
static size_t seen_len;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what the program printed for up to `ms`; stops early once `want`
 * (if any) is in it. 1 if `want` was seen. */
static int read_until(int master, const char *want, long long ms)
{
    long long end = now_ms() + ms;
    for (;;) {
        if (want && *want && memmem(seen, seen_len, want, strlen(want)))
            return 1;
        long long left = end - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = master, .events = POLLIN };
        if (poll(&p, 1, left > 100 ? 100 : (int)left) <= 0)
            continue;
        char buf[4096];
        ssize_t n = read(master, buf, sizeof buf);
        if (n <= 0)
            return want && *want && memmem(seen, seen_len, want, strlen(want));
        if (seen_len + n > sizeof seen)
            n = sizeof seen - seen_len;
        memcpy(seen + seen_len, buf, n);
        seen_len += n;
    }
}

static int is_raw(int slave)
{
    struct termios t;
    return tcgetattr(slave, &t) == 0 && !(t.c_lflag & (ICANON | ECHO));
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: xq-pty WAITFOR COMMAND ANSWER TIMEOUT_MS PROGRAM [ARG...]\n");
        return 2;
    }
    const char *waitfor = argv[1], *command = argv[2], *answer = argv[3];
    long long timeout = atoll(argv[4]);

    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) {
        perror("posix_openpt");
        return 2;
    }
    const char *name = ptsname(master);
    int slave = open(name, O_RDWR | O_NOCTTY);   /* ours: to read its settings */
    if (slave < 0) {
        perror(name);
        return 2;
    }
    struct termios before;
    tcgetattr(slave, &before);

    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int fd = open(name, O_RDWR);   /* our controlling terminal now */
        ioctl(fd, TIOCSCTTY, 0);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
        close(master);
        close(slave);
        execvp(argv[5], argv + 5);
        _exit(127);
    }

    int attached = 0, answered = 0, status = -1, restored = 0;
    long long end = now_ms() + timeout;
    while (now_ms() < end && !(attached = is_raw(slave))) {
        read_until(master, NULL, 50);
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
    }
    if (attached && *waitfor)
        attached = read_until(master, waitfor, timeout);
    if (attached) {
        char line[4096];
        snprintf(line, sizeof line, "%s\r", command);
        if (write(master, line, strlen(line)) < 0)
            perror("write");
        answered = read_until(master, answer, timeout);
        char escape = 0x1d;
        if (write(master, &escape, 1) < 0)
            perror("write");
    }
    end = now_ms() + (attached ? timeout : 0);
    while (status == -1) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = -2;
            break;
        }
        read_until(master, NULL, 50);
    }
    read_until(master, NULL, 100);
    struct termios after;
    restored = tcgetattr(slave, &after) == 0 && memcmp(&before, &after, sizeof before) == 0;
    int code = status == -2 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    printf("XQ-PTY-OUTPUT: ");
    for (size_t i = 0; i < seen_len; i++) {
        unsigned char c = seen[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c < 32 || c > 126) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\nXQ-PTY: attached=%d answer=%d exit=%d restored=%d\n", attached, answered, code, restored);
    return attached && answered && code == 0 && restored ? 0 : 1;
}
