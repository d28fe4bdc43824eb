#compdef swxl

__swxl_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__swxl_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __swxl_complete "${completions[@]:0:-1}"
    fi
}

__swxl_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_swxl() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'create:Create a domain from a config file (xl.cfg, xm or SXP).'
            'list:List domains: xl'\''s columns and state letters, or JSON.'
            'destroy:Destroy a domain at once: no shutdown, everything about it removed.'
            'shutdown:Ask a domain to shut down (its on_poweroff action follows).'
            'reboot:Ask a domain to reboot (its on_reboot action follows).'
            'pause:Pause a domain.'
            'unpause:Unpause a domain.'
            'rename:Rename a domain.'
            'mem-set:Set a domain'\''s memory target (the guest balloons to it). Sizes: 512, 512m, 1g, 65536k.'
            'mem-max:Set the most memory a domain may have.'
            'vcpu-set:Set the number of a domain'\''s online vcpus.'
            'domid:Print the domid of a domain name.'
            'domname:Print the name of a domid.'
            'vm-list:List the guests'\'' UUIDs, domids and names.'
            'uptime:How long domains have been up.'
            'info:Information about the host, as `xl info` prints it.'
            'dmesg:The hypervisor'\''s console ring.'
            'console:Attach to a domain'\''s console (Ctrl-] detaches).'
            'new:Define a domain without starting it (xm'\''s new).'
            'start:Start a domain defined with new (xm'\''s start).'
            'delete:Forget a halted domain defined with new (xm'\''s delete).'
            'save:Save a domain state to restore later (xl'\''s file format).'
            'migrate:Migrate a domain to another host (xl'\''s protocol, over ssh or -s'\''s command).'
            'restore:Restore a domain from a saved state (xl'\''s file format).'
            'migrate-receive:Receive a migrating domain (for `migrate`'\''s use, on its pipes).'
            'vcpu-list:List domains'\'' vcpus, as xl does.'
            'vcpu-pin:Set which CPUs a vcpu may use (hard affinity) and prefers (soft affinity).'
            'sched-credit:Get or set the credit scheduler'\''s domain and pool parameters.'
            'sched-credit2:Get or set the credit2 scheduler'\''s domain and pool parameters.'
            'sysrq:Send a sysrq to a domain.'
            'debug-keys:Send debug keys to Xen.'
            'dump-core:Core dump a domain.'
            'cpupool-list:List CPU pools on host.'
            'top:Monitor a host and the domains in real time (xentop).'
            'network-attach:Create a new virtual network device.'
            'network-list:List virtual network interfaces for a domain.'
            'network-detach:Destroy a domain'\''s virtual network device.'
            'block-attach:Create a new virtual block device.'
            'block-list:List virtual block devices for a domain.'
            'block-detach:Destroy a domain'\''s virtual block device.'
            'config:Read, check and convert domain config files (xl.cfg, legacy xm, SXP, JSON).'
            'store:Read and change xenstore, like Xen'\''s xenstore-* tools.'
            'xenstored:Run swxl'\''s xenstore daemon (for hosts without Xen'\''s own).'
            'serve:Serve the XenAPI (XML-RPC and JSON-RPC over HTTP), as xend did.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        create|list|destroy|shutdown|reboot|pause|unpause|rename|mem-set|mem-max|vcpu-set|domid|domname|vm-list|uptime|info|dmesg|console|new|start|delete|save|migrate|restore|migrate-receive|vcpu-list|vcpu-pin|sched-credit|sched-credit2|sysrq|debug-keys|dump-core|cpupool-list|top|network-attach|network-list|network-detach|block-attach|block-list|block-detach|config|store|xenstored|serve|help)
            "_swxl_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_swxl_create() {
    local -i ret=1
    local -ar arg_specs=(
        '-p[Leave the domain paused after it is created.]'
        '(-n --dryrun --dry-run)'{-n,--dryrun,--dry-run}'[Only parse the config and print it resolved, as JSON.]'
        '(--quiet -q)'{--quiet,-q}'[Quiet\: print nothing on success.]'
        '-d[Debug\: print the resolved config, as JSON, on stderr, then create.]'
        '(-f --defconfig)'{-f,--defconfig}'[The config file (then every argument is a KEY=VALUE override).]:defconfig:'
        '-c[Connect to the console after the domain is created.]'
        '-F[Stay in the foreground until the domain dies, saying what happens to it.]'
        '-e[Leave the domain unwatched\: its on_poweroff, on_reboot and on_crash are not carried out (it stays as it shut down).]'
        '(-V --vncviewer)'{-V,--vncviewer}'[Connect a VNC viewer to the domain'\''s display (swxl'\''s domains have none\: said, as libxl says it).]'
        '(-A --vncviewer-autopass)'{-A,--vncviewer-autopass}'[As -V, passing the display'\''s password to the viewer.]'
        '(-i --ignore-global-affinity-masks)'{-i,--ignore-global-affinity-masks}'[Ignore xl.conf'\''s vCPU affinity masks (vm.cpumask, vm.pv.cpumask, vm.hvm.cpumask).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_list() {
    local -i ret=1
    local -ar arg_specs=(
        '(--verbose -v)'{--verbose,-v}'[Also show each domain'\''s UUID and shutdown reason code.]'
        '(--long -l)'{--long,-l}'[The domains'\'' configurations as xl prints them\: libxl'\''s JSON, \[{"domid"\:..,"config"\:..}\].]'
        '(-Z --context)'{-Z,--context}'[Also show the security label (`-`\: swxl reads no XSM labels).]'
        '(-c --cpupool)'{-c,--cpupool}'[Also show each domain'\''s cpupool.]'
        '(-n --numa)'{-n,--numa}'[Also show each domain'\''s NUMA node affinity.]'
        '--json[One JSON object per domain, for scripts (swxl'\''s addition).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_destroy() {
    local -i ret=1
    local -ar arg_specs=(
        '-f[Permit destroying domain 0.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_shutdown() {
    local -i ret=1
    local -ar arg_specs=(
        '(--all -a)'{--all,-a}'[All domains.]'
        '*'{--wait,-w}'[Wait until the domain has shut down (-ww\: until it is gone).]'
        '-F[Send an ACPI power button event to an HVM guest whose PV drivers are not up.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_reboot() {
    local -i ret=1
    local -ar arg_specs=(
        '(--all -a)'{--all,-a}'[All domains.]'
        '*'{--wait,-w}'[Wait until the domain has shut down for the reboot (-ww\: until it is gone).]'
        '-F[Send an ACPI reset button event to an HVM guest whose PV drivers are not up.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_pause() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_unpause() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_rename() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':new-name:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_mem-set() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':memory:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_mem-max() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':memory:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_vcpu-set() {
    local -i ret=1
    local -ar arg_specs=(
        '(-i --ignore-host)'{-i,--ignore-host}'[Allow more vCPUs than the host has CPUs.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':count:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_domid() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':name:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_domname() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domid:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_vm-list() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_uptime() {
    local -i ret=1
    local -ar arg_specs=(
        '-s[Short form, like uptime(1).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:domains:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_info() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '(-n --numa)'{-n,--numa}'[Also list the host'\''s CPU, device and NUMA topology (an ITEM is then ignored, as xl ignores it).]'
        '--json[One JSON object, for scripts\: numbers as numbers, virt_caps as a list (swxl'\''s addition).]'
        ':item:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_dmesg() {
    local -i ret=1
    local -ar arg_specs=(
        '(-c --clear)'{-c,--clear}'[Clear the ring after reading it.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_console() {
    local -i ret=1
    local -ar arg_specs=(
        '-f[Embedded host\: print the console log and keep following it until the guest dies (swxl'\''s addition).]'
        '-t[The console type\: pv, serial or vuart (default\: serial for HVM guests, else pv).]:type:'
        '-n[The console number (default 0).]:number:'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_new() {
    local -i ret=1
    local -ar arg_specs=(
        '(--quiet -q)'{--quiet,-q}'[Quiet\: print nothing on success.]'
        '(-f --defconfig)'{-f,--defconfig}'[The config file (then every argument is a KEY=VALUE override).]:defconfig:'
        '(-i --ignore-global-affinity-masks)'{-i,--ignore-global-affinity-masks}'[Ignore xl.conf'\''s vCPU affinity masks.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:words:_files'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_start() {
    local -i ret=1
    local -ar arg_specs=(
        '(-p --paused)'{-p,--paused}'[Leave the domain paused after it is created.]'
        '(-c --console_autoconnect)'{-c,--console_autoconnect}'[Connect to the console after the domain is created.]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_delete() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_save() {
    local -i ret=1
    local -ar arg_specs=(
        '-c[Leave domain running after creating the snapshot.]'
        '-p[Leave domain paused after creating the snapshot.]'
        '-D[Store the domain id in the configuration.]'
        '(--quiet -q)'{--quiet,-q}'[No progress line (swxl'\''s addition; there is none off a terminal either).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_migrate() {
    local -i ret=1
    local -ar arg_specs=(
        '-C[Send <config> instead of config file from creation.]:config:'
        '-s[Use <sshcommand> instead of ssh (passed to sh; empty\: run HOST itself).]:sshcommand:'
        '-e[Do not wait in the background (on <host>) for the death of the domain.]'
        '-F[Run in the foreground on <host> (passed on as xl does not\: ignored).]'
        '--debug[Debug\: the receiver prints the config; the image is verified (XCFLAGS_DEBUG) where the host can.]'
        '--live[Accepted and ignored, as xl does (for xm'\''s sake).]'
        '-p[Do not unpause domain after migrating it.]'
        '-D[Preserve the domain id.]'
        '(--quiet -q)'{--quiet,-q}'[No progress line (swxl'\''s addition).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_restore() {
    local -i ret=1
    local -ar arg_specs=(
        '-p[Do not unpause domain after restoring it.]'
        '-e[Leave the domain unwatched, as create -e\: its on_poweroff, on_reboot and on_crash are not carried out.]'
        '-d[Enable debug messages\: the config, as libxl JSON, on stderr.]'
        '-F[Stay in the foreground until the domain dies, carrying out its actions (as create -F).]'
        '-c[Connect to the console after the domain is restored (before it runs, as create -c).]'
        '(-V --vncviewer)'{-V,--vncviewer}'[Connect a VNC viewer to the domain'\''s display (as create -V).]'
        '(-A --vncviewer-autopass)'{-A,--vncviewer-autopass}'[As -V, passing the display'\''s password to the viewer.]'
        '(--quiet -q)'{--quiet,-q}'[No progress line, no "Parsing config" line (swxl'\''s addition).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_migrate-receive() {
    local -i ret=1
    local -ar arg_specs=(
        '-e[Do not wait in the background for the death of the domain (swxl'\''s host-wide watcher follows it either way).]'
        '-F[Run in the foreground (swxl'\''s receive always does).]'
        '-d[Enable debug messages.]'
        '-p[Do not unpause domain after migrating it.]'
        '-r[Remus (not supported).]'
        '--colo[COLO (not supported).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_vcpu-list() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '*:domains:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_vcpu-pin() {
    local -i ret=1
    local -ar arg_specs=(
        '(-f --force)'{-f,--force}'[Undo an override pinning done by the kernel.]'
        '(-i --ignore-global-affinity-masks)'{-i,--ignore-global-affinity-masks}'[Ignore xl.conf'\''s vCPU affinity masks (vm.cpumask, vm.pv.cpumask, vm.hvm.cpumask).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':vcpu:'
        ':hard:'
        ':soft:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_sched-credit() {
    local -i ret=1
    local -ar arg_specs=(
        '(-d --domain)'{-d,--domain}'[The domain to show or modify.]:domain:'
        '(-w --weight)'{-w,--weight}'[Set its weight (1-65535).]:weight:'
        '(-c --cap)'{-c,--cap}'[Set its cap, in percent of one CPU (0\: none).]:cap:'
        '(-s --schedparam)'{-s,--schedparam}'[Show or modify the pool'\''s scheduler parameters.]'
        '(-r --ratelimit_us)'{-r,--ratelimit_us}'[Set the scheduling rate limit, in microseconds.]:ratelimit_us:'
        '(-p --cpupool)'{-p,--cpupool}'[Only this CPU pool (name or id).]:cpupool:'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '(-t --tslice_ms)'{-t,--tslice_ms}'[Set the time slice, in milliseconds.]:tslice_ms:'
        '(-m --migration_delay_us)'{-m,--migration_delay_us}'[Set the migration delay, in microseconds.]:migration_delay_us:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_sched-credit2() {
    local -i ret=1
    local -ar arg_specs=(
        '(-d --domain)'{-d,--domain}'[The domain to show or modify.]:domain:'
        '(-w --weight)'{-w,--weight}'[Set its weight (1-65535).]:weight:'
        '(-c --cap)'{-c,--cap}'[Set its cap, in percent of one CPU (0\: none).]:cap:'
        '(-s --schedparam)'{-s,--schedparam}'[Show or modify the pool'\''s scheduler parameters.]'
        '(-r --ratelimit_us)'{-r,--ratelimit_us}'[Set the scheduling rate limit, in microseconds.]:ratelimit_us:'
        '(-p --cpupool)'{-p,--cpupool}'[Only this CPU pool (name or id).]:cpupool:'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_sysrq() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':letter:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_debug-keys() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':keys:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_dump-core() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':filename:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_cpupool-list() {
    local -i ret=1
    local -ar arg_specs=(
        '(-c --cpus)'{-c,--cpus}'[Output list of CPUs used by a pool.]'
        '--json[The pools as a JSON array, for scripts (swxl'\''s addition).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':pool:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_top() {
    local -i ret=1
    local -ar arg_specs=(
        '(-d --delay)'{-d,--delay}'[Seconds between updates (default 3).]:delay:'
        '(-n --networks)'{-n,--networks}'[Output vif network data.]'
        '(-x --vbds)'{-x,--vbds}'[Output vbd block device data.]'
        '(-r --repeat-header)'{-r,--repeat-header}'[Repeat the table header before each domain.]'
        '(-v --vcpus)'{-v,--vcpus}'[Output vcpu data.]'
        '(-b --batch)'{-b,--batch}'[Output in batch mode, no user input accepted.]'
        '(-i --iterations)'{-i,--iterations}'[Number of iterations before exiting.]:iterations:'
        '(-f --full-name)'{-f,--full-name}'[Output the full domain name (not truncated).]'
        '(-V --version)'{-V,--version}'[Output version information and exit.]'
        '--json[Batch mode as JSON\: one object per sample, for scripts (swxl'\''s addition).]'
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_network-attach() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '*:spec:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_network-list() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '--json[Print JSON instead of xl'\''s table.]'
        '*:domains:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_network-detach() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        ':device:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_block-attach() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        ':domain:'
        '*:spec:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_block-list() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '--json[Print JSON instead of xl'\''s table.]'
        '*:domains:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_block-detach() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '(-f --force)'{-f,--force}'[Do not wait for the domain to release the device.]'
        ':domain:'
        ':device:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_config() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'check:Check config files: every problem as file:line:col, exit 1 on any error.'
            'show:Read a config and print it as JSON, SXP or xl.cfg (converting between formats).'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        check|show)
            "_swxl_config_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_swxl_config_check() {
    local -i ret=1
    local -ar ___from=('auto' 'xl' 'xm' 'sxp' 'json')
    local -ar arg_specs=(
        '--from[The input format\: auto, xl, xm, sxp or json.]:from:{__swxl_complete "${___from[@]}"}'
        '--strict[Treat warnings as errors.]'
        '*:words:_files'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_config_show() {
    local -i ret=1
    local -ar ___format=('json' 'sxp' 'xl')
    local -ar ___from=('auto' 'xl' 'xm' 'sxp' 'json')
    local -ar arg_specs=(
        '--format[The output format\: json, sxp or xl.]:format:{__swxl_complete "${___format[@]}"}'
        '--from[The input format\: auto, xl, xm, sxp or json.]:from:{__swxl_complete "${___from[@]}"}'
        '*:words:_files'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'read:Print the values at paths (several: read in one transaction).'
            'write:Write values: path value [path value ...] (several: in one transaction).'
            'ls:Print the tree below a path with values, as xenstore-ls does.'
            'list:Print the names of a path'\''s children, one per line.'
            'exists:Exit 0 if every path exists, 1 if one does not. Prints nothing.'
            'rm:Remove paths and everything below them.'
            'mkdir:Create paths (and missing parents) with empty values.'
            'chmod:Set a path'\''s permissions: the first names the owner and everyone else'\''s access.'
            'getperms:Print paths'\'' permissions, e.g. n0,r5 (owner first).'
            'watch:Print '\''path token'\'' for each change at or below the paths (the token is the watched path).'
            'transaction:Run a batch of operations atomically, retrying when another change conflicts.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        read|write|ls|list|exists|rm|mkdir|chmod|getperms|watch|transaction)
            "_swxl_store_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_swxl_store_read() {
    local -i ret=1
    local -ar arg_specs=(
        '(--prefix -p)'{--prefix,-p}'[Print each value after its path and '\''\: '\''.]'
        '(-R --raw)'{-R,--raw}'[Print values as they are, without escapes or newline.]'
        '--json[Print a JSON object from path to value.]'
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_write() {
    local -i ret=1
    local -ar arg_specs=(
        '(-R --raw)'{-R,--raw}'[Take values as they are\: no backslash escapes.]'
        '*:pairs:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_ls() {
    local -i ret=1
    local -ar arg_specs=(
        '(--full -f)'{--full,-f}'[Full paths instead of an indented tree; nothing is cut.]'
        '(-p --permissions)'{-p,--permissions}'[Show each node'\''s permissions.]'
        '--json[Print a JSON array of {path, value\[, perms\]}.]'
        ':path:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_list() {
    local -i ret=1
    local -ar arg_specs=(
        '(--prefix -p)'{--prefix,-p}'[Print full paths, not just names.]'
        '--json[Print a JSON object from path to its children.]'
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_exists() {
    local -i ret=1
    local -ar arg_specs=(
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_rm() {
    local -i ret=1
    local -ar arg_specs=(
        '(--tidy -t)'{--tidy,-t}'[Also remove parents left empty (no value, no children).]'
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_mkdir() {
    local -i ret=1
    local -ar arg_specs=(
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_chmod() {
    local -i ret=1
    local -ar arg_specs=(
        '(--recursive -r)'{--recursive,-r}'[Also set them on everything below the path.]'
        '(--upto -u)'{--upto,-u}'[Also set them on every parent up to the root.]'
        ':path:'
        '*:permissions:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_getperms() {
    local -i ret=1
    local -ar arg_specs=(
        '(--prefix -p)'{--prefix,-p}'[Print each after its path and '\''\: '\''.]'
        '--json[Print a JSON object from path to its permission list.]'
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_watch() {
    local -i ret=1
    local -ar arg_specs=(
        '(-n --number)'{-n,--number}'[Stop after this many events.]:number:'
        '--json[Print one JSON object {path, token} per line.]'
        '*:paths:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_store_transaction() {
    local -i ret=1
    local -ar arg_specs=(
        '--json[Print a JSON array of {op, path\[, value|children|perms\]}.]'
        '*:operations:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_xenstored() {
    local -i ret=1
    local -ar ___domain_sockets=('introduce' 'request')
    local -ar arg_specs=(
        '(-f --foreground -N --no-fork)'{-f,--foreground,-N,--no-fork}'[Stay in the foreground (do not detach).]'
        '--state-dir[State directory (default\: SWXL_STATE_DIR, /var/lib/swxl for root, else ~/.local/state/swxl).]:state-dir:'
        '--memory-only[Keep the tree in memory only\: nothing survives a restart.]'
        '--busy-poll-us[Microseconds to poll without sleeping after handling requests (0\: never; default 50, or 0 with one CPU online). Keeps round trips short where waking an idle CPU is slow, as on a VM.]:busy-poll-us:'
        '--guest-poll-us[On a Xen host, microseconds at most to keep looking at guests'\'' rings after replying to a guest, learnt per guest from how soon it sends its next request (0\: never; default 5000). Spares a guest'\''s request the wake-up of dom0'\''s vCPU.]:guest-poll-us:'
        '--cpu-latency-request[While busy polling, ask Linux to keep idle CPUs polling too (PM QoS, /dev/cpu_dma_latency; root only), so a client answered on another CPU wakes at once.]'
        '--no-cpu-latency-request[While busy polling, ask Linux to keep idle CPUs polling too (PM QoS, /dev/cpu_dma_latency; root only), so a client answered on another CPU wakes at once.]'
        '(-E --entry-nb)'{-E,--entry-nb}'[Nodes an unprivileged domain may own.]:entry-nb:'
        '(-W --watch-nb)'{-W,--watch-nb}'[Watches an unprivileged domain may hold.]:watch-nb:'
        '(-S --entry-size)'{-S,--entry-size}'[Bytes of value plus child names per node, for unprivileged domains.]:entry-size:'
        '(-t --transaction)'{-t,--transaction}'[Open transactions per unprivileged connection.]:transaction:'
        '(-A --perm-nb)'{-A,--perm-nb}'[Entries in one permission list set by an unprivileged domain.]:perm-nb:'
        '--outstanding[Requests in flight per unprivileged connection before reading pauses.]:outstanding:'
        '(-K --keep-orphans)'{-K,--keep-orphans}'[Keep the nodes a released domain owned (by default they are removed, as Xen 4.17 does).]'
        '(-F --pid-file)'{-F,--pid-file}'[Write the daemon'\''s pid to this file (also its lock).]:pid-file:'
        '--xen-host[Serve as a Xen host'\''s xenstored (default\: only in a Xen control domain).]'
        '--no-xen-host[Serve as a Xen host'\''s xenstored (default\: only in a Xen control domain).]'
        '(-P --output-pid)'{-P,--output-pid}'[Print the daemon'\''s pid on standard output once it is ready.]'
        '*'{-Q,--quota}'[Xen'\''s quota setting WHAT=N (outstanding; transaction-nodes and memory are not enforced\: warning).]:what=n:'
        '*'{-q,--quota-soft}'[Xen'\''s soft quota WHAT=N (memory\: not enforced, warning).]:what=n:'
        '*'{-w,--timeout}'[Xen'\''s timeout WHAT=SECONDS (watch-event\: not enforced, warning).]:what=s:'
        '(-M --path-max)'{-M,--path-max}'[Xen'\''s relative path limit (swxl keeps Xen'\''s default, 2048\: other values get a warning).]:path-max:'
        '(-T --trace-file)'{-T,--trace-file}'[Xen'\''s trace file\: not supported (warning).]:trace-file:'
        '--event[Xen'\''s event channel of a xenstore stub domain'\''s master\: ignored in dom0 (warning).]:event:'
        '--master-domid[Xen'\''s master domain of a stub domain\: only 0 is served.]:master-domid:'
        '--priv-domid[Xen'\''s second privileged domain\: only 0 is served.]:priv-domid:'
        '--domain-sockets[When an introduced domain'\''s socket (<state>/domains/<domid>/xenbus) is opened\: at INTRODUCE (introduce\: a descriptor per domain), or only when a privileged client asks with CONTROL domain-socket <domid> (request\: as the embedded host'\''s toolstack starts it, so descriptors do not bound the number of domains).]:introduce|request:{__swxl_complete "${___domain_sockets[@]}"}'
        '(-D --no-domain-init)'{-D,--no-domain-init}'[Xen'\''s\: serve no domain'\''s ring (neither dom0'\''s nor guests'\''), do not watch domains.]'
        '(-R --no-recovery)'{-R,--no-recovery}'[Xen'\''s (database recovery)\: nothing to do here.]'
        '(-U --live-update)'{-U,--live-update}'[Xen'\''s live update\: not supported (error).]'
        '(-v --verbose -V)'{-v,--verbose,-V}'[Log connections and domain changes (info level).]'
        '--log-level[Log level\: trace, debug, info, notice, warning, error, critical.]:log-level:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_serve() {
    local -i ret=1
    local -ar arg_specs=(
        '--host[The host to drive\: xen or embedded (default\: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).]:kind:'
        '(-f --foreground)'{-f,--foreground}'[Stay in the foreground (do not detach); log to stderr.]'
        '--state-dir[State directory (default\: SWXL_STATE_DIR, /var/lib/swxl for root, else ~/.local/state/swxl).]:state-dir:'
        '--socket[The Unix socket (default\: /var/lib/xcp/xapi for root on a Xen host, else <state>/xapi/socket).]:socket:'
        '--tcp[Also listen on TCP\: PORT or \:PORT (loopback), ADDRESS\:PORT, \[IPV6\]\:PORT; port 0 picks a free one.]:addr\:port:'
        '--credentials[Users who may log in over TCP\: lines of user\:HASH (crypt'\''s SHA-512, openssl passwd -6). Required with --tcp.]:file:'
        '--pid-file[The pid file, also the lock (default\: <state>/xapi/serve.pid).]:pid-file:'
        '--xen-host[Serve as a Xen host'\''s (default\: only in a Xen control domain); chooses the default socket.]'
        '--no-xen-host[Serve as a Xen host'\''s (default\: only in a Xen control domain); chooses the default socket.]'
        '--max-connections[Connections served at once; more are answered 503 and closed.]:max-connections:'
        '--max-request-bytes[The largest request body in bytes; a larger one is answered 413 and its connection closed.]:max-request-bytes:'
        '--log-level[Log level\: trace, debug, info, notice, warning, error, critical (default\: notice).]:log-level:'
        '(-v --verbose)'{-v,--verbose}'[Log each call (debug level).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_swxl_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _swxl ]]; then
    _swxl "${@}"
else
    compdef _swxl swxl
fi
