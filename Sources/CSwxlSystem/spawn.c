// The GNU parts of <spawn.h>, <string.h> and <unistd.h>, seen from a file compiled with _GNU_SOURCE.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "CSwxlSystem.h"

int swxl_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

void *swxl_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len) {
    return memmem(haystack, haystack_len, needle, needle_len);
}

int swxl_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

const short swxl_spawn_setsid = POSIX_SPAWN_SETSID;

int swxl_pipe_set_size(int fd, int bytes) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (!S_ISFIFO(st.st_mode))
        return 0;
    return fcntl(fd, F_SETPIPE_SZ, bytes);
}
