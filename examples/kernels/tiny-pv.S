/*
 * tiny-pv: the smallest useful x86_64 Xen PV kernel, for swxl's examples
 * and tests. It carries the ELF notes a PV domain builder looks for, and
 * when run on real Xen it prints one line through the hypervisor console
 * and powers itself off.
 *
 * Build: scripts/make-tiny-kernel (gcc + ld from binutils).
 */
#define XEN_ELFNOTE_ENTRY           1
#define XEN_ELFNOTE_HYPERCALL_PAGE  2
#define XEN_ELFNOTE_VIRT_BASE       3
#define XEN_ELFNOTE_PADDR_OFFSET    4
#define XEN_ELFNOTE_XEN_VERSION     5
#define XEN_ELFNOTE_GUEST_OS        6
#define XEN_ELFNOTE_GUEST_VERSION   7
#define XEN_ELFNOTE_LOADER          8
#define XEN_ELFNOTE_FEATURES       10

#define HYPERVISOR_console_io      18
#define HYPERVISOR_sched_op        29
#define CONSOLEIO_write             0
#define SCHEDOP_shutdown            2
#define SHUTDOWN_poweroff           0

/* One note: name "Xen", a type, and a descriptor. */
#define NOTE(type, desctype, descdata)          \
    .pushsection .note.Xen, "a", @note;         \
    .balign 4;                                  \
    .long 4;                                    \
    .long 2f - 1f;                              \
    .long type;                                 \
    .asciz "Xen";                               \
    .balign 4;                                  \
1:  desctype descdata;                          \
2:  .balign 4;                                  \
    .popsection

NOTE(XEN_ELFNOTE_GUEST_OS,       .asciz, "swxl-tiny")
NOTE(XEN_ELFNOTE_GUEST_VERSION,  .asciz, "1")
NOTE(XEN_ELFNOTE_XEN_VERSION,    .asciz, "xen-3.0")
NOTE(XEN_ELFNOTE_LOADER,         .asciz, "generic")
NOTE(XEN_ELFNOTE_VIRT_BASE,      .quad,  0)
NOTE(XEN_ELFNOTE_PADDR_OFFSET,   .quad,  0)
NOTE(XEN_ELFNOTE_ENTRY,          .quad,  _start)
NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad,  hypercall_page)
NOTE(XEN_ELFNOTE_FEATURES,       .asciz, "!writable_page_tables")

    .text
    .globl _start
_start:
    lea     stack_top(%rip), %rsp

    /* console_io(CONSOLEIO_write, len, banner) */
    mov     $CONSOLEIO_write, %rdi
    mov     $banner_end - banner, %rsi
    lea     banner(%rip), %rdx
    call    hypercall_page + HYPERVISOR_console_io * 32

    /* sched_op(SCHEDOP_shutdown, &{ SHUTDOWN_poweroff }) */
1:  mov     $SCHEDOP_shutdown, %rdi
    lea     shutdown_reason(%rip), %rsi
    call    hypercall_page + HYPERVISOR_sched_op * 32
    jmp     1b

    /* Xen fills this page with the hypercall stubs, 32 bytes each. */
    .balign 4096
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xcc

    .data
banner:
    .ascii  "swxl tiny PV kernel: hello from a Xen guest\n"
banner_end:
    .balign 4
shutdown_reason:
    .long   SHUTDOWN_poweroff

    .bss
    .balign 16
    .skip   4096
stack_top:
