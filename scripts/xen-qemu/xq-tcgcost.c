/* Costs in the harness's dom0 (PV, QEMU TCG): a null system call, a clock
 * read, rdtsc, sched_yield, and touching N pages with and without a system
 * call (a CR3 switch) before the touches: the soft TLB's refill per page. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <x86intrin.h>

static long long ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char **argv)
{
    int n = 20000;
    long long t0, t1;
    volatile uint64_t sink = 0;
    t0 = ns(); for (int i = 0; i < n; i++) syscall(SYS_getppid); t1 = ns();
    printf("TCGCOST: null-syscall %lld ns\n", (t1 - t0) / n);
    t0 = ns(); for (int i = 0; i < n; i++) sink += ns(); t1 = ns();
    printf("TCGCOST: clock_gettime %lld ns\n", (t1 - t0) / n);
    t0 = ns(); for (int i = 0; i < n; i++) sink += __rdtsc(); t1 = ns();
    printf("TCGCOST: rdtsc %lld ns\n", (t1 - t0) / n);
    uint64_t c0 = __rdtsc(); t0 = ns(); for (int i = 0; i < 2000; i++) syscall(SYS_getppid); t1 = ns(); uint64_t c1 = __rdtsc();
    printf("TCGCOST: tsc-per-us %llu\n", (unsigned long long)((c1 - c0) * 1000 / (uint64_t)(t1 - t0)));
    t0 = ns(); for (int i = 0; i < n; i++) sched_yield(); t1 = ns();
    printf("TCGCOST: sched_yield %lld ns\n", (t1 - t0) / n);
    int pages[] = { 16, 64, 256 };
    char *mem = aligned_alloc(4096, 256 * 4096);
    for (int i = 0; i < 256 * 4096; i += 4096) mem[i] = 1;
    for (int k = 0; k < 3; k++) {
        int p = pages[k], r = 2000;
        t0 = ns();
        for (int i = 0; i < r; i++) for (int j = 0; j < p; j++) sink += mem[j * 4096 + (i & 63)];
        t1 = ns();
        long long warm = (t1 - t0) / r;
        t0 = ns();
        for (int i = 0; i < r; i++) { syscall(SYS_getppid); for (int j = 0; j < p; j++) sink += mem[j * 4096 + (i & 63)]; }
        t1 = ns();
        long long cold = (t1 - t0) / r;
        printf("TCGCOST: pages %d warm %lld ns, after a syscall %lld ns\n", p, warm, cold);
    }
    /* spins of a load-compare-pause loop per microsecond */
    volatile uint32_t idx[2] = { 0, 0 };
    t0 = ns();
    for (int i = 0; i < 1000000; i++) { if (idx[0] != idx[1]) break; _mm_pause(); }
    t1 = ns();
    printf("TCGCOST: poll-spin %lld ps\n", (t1 - t0) * 1000 / 1000000);
    return (int)(sink & 0);
}
