// epoll for XenStoreServer's socket loop: Glibc's Swift module does not carry it.
#include <sys/epoll.h>
