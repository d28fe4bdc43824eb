// What SwxlSystem needs from glibc that Swift's Glibc module leaves out
// (it is built without _GNU_SOURCE).
#ifndef CSWXLSYSTEM_H
#define CSWXLSYSTEM_H

#include <spawn.h>
#include <stddef.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34 and later): the
/// child closes every descriptor from `from` up, after the earlier actions.
int swxl_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, so no
/// exec elsewhere in the process can inherit them.
int swxl_pipe_cloexec(int fds[2]);

/// fcntl(fd, F_SETPIPE_SZ, bytes) when `fd` is a pipe, else nothing: the
/// pipe's new capacity (the kernel rounds up; an unprivileged process is
/// held to /proc/sys/fs/pipe-max-size), 0 when `fd` is no pipe, -1 with
/// errno when the kernel refused.
int swxl_pipe_set_size(int fd, int bytes);

/// glibc's malloc for a command that will soon exit and meanwhile frees and
/// allocates the same large blocks again (libxc's restore: a buffer of
/// about 4 MiB for each record of pages): blocks up to 64 MiB come from the
/// heap, not from mmap, and the heap keeps up to 128 MiB it no longer
/// uses. Left to itself glibc maps the first such block, unmaps it when
/// freed and takes the next from the heap: 1024 more pages touched for the
/// first time, each a page fault (dear in a Xen PV dom0: see
/// Sources/swxl/SaveRestoreCommands.swift).
void swxl_malloc_keep_large_blocks(void);

/// The bytes glibc's malloc holds in blocks mapped on their own (mallinfo2's hblkhd).
size_t swxl_malloc_mapped_bytes(void);

/// After swxl_malloc_keep_large_blocks: `bytes` of the calling thread's
/// heap, where its next large blocks will come from, populated writable
/// in one call (one block allocated, madvise MADV_POPULATE_WRITE on its
/// pages, freed back into the heap, which keeps it). The pages that a
/// large block allocated next touches are then there already instead of
/// each faulting on its first touch. The pages populated; 0 without
/// swxl_malloc_keep_large_blocks (a large block would be mapped on its own
/// and unmapped when freed) or when `bytes` is under a page; -errno when
/// the kernel refused (EINVAL: before Linux 5.14) or -ENOMEM.
long swxl_malloc_prefault(size_t bytes);

/// glibc's POSIX_SPAWN_SETSID: the child starts a new session.
extern const short swxl_spawn_setsid;

/// memmem: where `needle` first occurs in `haystack`, or NULL.
void *swxl_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len);

/// posix_openpt (close-on-exec, not our controlling terminal), grantpt,
/// unlockpt and ptsname_r: a new pseudo-terminal's master, its slave's
/// path in `slave_name`; -1 with errno on failure.
int swxl_open_pty_master(char *slave_name, size_t size);

#endif
