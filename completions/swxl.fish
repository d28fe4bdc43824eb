function __swxl_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __swxl_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __swxl_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __swxl_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __swxl_parse_tokens -S
    set -l unparsed_tokens (__swxl_tokens -pc)
    switch $unparsed_tokens[1]
    case 'swxl'
        __swxl_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'create'
            __swxl_parse_subcommand -r 1 'p' 'n/dryrun' 'q/quiet' 'd' 'f/defconfig=' 'c' 'F' 'e' 'V/vncviewer' 'A/vncviewer-autopass' 'i/ignore-global-affinity-masks' 'host=' 'version' 'h/help'
        case 'list'
            __swxl_parse_subcommand 1 'v/verbose' 'l/long' 'Z/context' 'c/cpupool' 'n/numa' 'json' 'host=' 'version' 'h/help'
        case 'destroy'
            __swxl_parse_subcommand 1 'f' 'host=' 'version' 'h/help'
        case 'shutdown'
            __swxl_parse_subcommand 1 'a/all' 'w/wait' 'F' 'host=' 'version' 'h/help'
        case 'reboot'
            __swxl_parse_subcommand 1 'a/all' 'w/wait' 'F' 'host=' 'version' 'h/help'
        case 'pause'
            __swxl_parse_subcommand 1 'host=' 'version' 'h/help'
        case 'unpause'
            __swxl_parse_subcommand 1 'host=' 'version' 'h/help'
        case 'rename'
            __swxl_parse_subcommand 2 'host=' 'version' 'h/help'
        case 'mem-set'
            __swxl_parse_subcommand 2 'host=' 'version' 'h/help'
        case 'mem-max'
            __swxl_parse_subcommand 2 'host=' 'version' 'h/help'
        case 'vcpu-set'
            __swxl_parse_subcommand 2 'i/ignore-host' 'host=' 'version' 'h/help'
        case 'vcpu-list'
            __swxl_parse_subcommand -r 1 'host=' 'version' 'h/help'
        case 'domid'
            __swxl_parse_subcommand 1 'host=' 'version' 'h/help'
        case 'domname'
            __swxl_parse_subcommand 1 'host=' 'version' 'h/help'
        case 'vm-list'
            __swxl_parse_subcommand 0 'host=' 'version' 'h/help'
        case 'uptime'
            __swxl_parse_subcommand -r 1 's' 'host=' 'version' 'h/help'
        case 'info'
            __swxl_parse_subcommand 1 'host=' 'n/numa' 'json' 'version' 'h/help'
        case 'dmesg'
            __swxl_parse_subcommand 0 'c/clear' 'host=' 'version' 'h/help'
        case 'console'
            __swxl_parse_subcommand 1 'f' 't=' 'n=' 'host=' 'version' 'h/help'
        case 'network-attach'
            __swxl_parse_subcommand -r 2 'host=' 'version' 'h/help'
        case 'network-list'
            __swxl_parse_subcommand -r 1 'host=' 'json' 'version' 'h/help'
        case 'network-detach'
            __swxl_parse_subcommand 2 'host=' 'version' 'h/help'
        case 'block-attach'
            __swxl_parse_subcommand -r 2 'host=' 'version' 'h/help'
        case 'block-list'
            __swxl_parse_subcommand -r 1 'host=' 'json' 'version' 'h/help'
        case 'block-detach'
            __swxl_parse_subcommand 2 'host=' 'f/force' 'version' 'h/help'
        case 'config'
            __swxl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'check'
                __swxl_parse_subcommand -r 1 'from=' 'strict' 'version' 'h/help'
            case 'show'
                __swxl_parse_subcommand -r 1 'format=' 'from=' 'version' 'h/help'
            end
        case 'store'
            __swxl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'read'
                __swxl_parse_subcommand -r 1 'p/prefix' 'R/raw' 'json' 'version' 'h/help'
            case 'write'
                __swxl_parse_subcommand -r 1 'R/raw' 'version' 'h/help'
            case 'ls'
                __swxl_parse_subcommand 1 'f/full' 'p/permissions' 'json' 'version' 'h/help'
            case 'list'
                __swxl_parse_subcommand -r 1 'p/prefix' 'json' 'version' 'h/help'
            case 'exists'
                __swxl_parse_subcommand -r 1 'version' 'h/help'
            case 'rm'
                __swxl_parse_subcommand -r 1 't/tidy' 'version' 'h/help'
            case 'mkdir'
                __swxl_parse_subcommand -r 1 'version' 'h/help'
            case 'chmod'
                __swxl_parse_subcommand -r 2 'r/recursive' 'u/upto' 'version' 'h/help'
            case 'getperms'
                __swxl_parse_subcommand -r 1 'p/prefix' 'json' 'version' 'h/help'
            case 'watch'
                __swxl_parse_subcommand -r 1 'n/number=' 'json' 'version' 'h/help'
            case 'transaction'
                __swxl_parse_subcommand -r 1 'json' 'version' 'h/help'
            end
        case 'xenstored'
            __swxl_parse_subcommand 0 'f/foreground' 'state-dir=' 'memory-only' 'busy-poll-us=' 'cpu-latency-request' 'no-cpu-latency-request' 'E/entry-nb=' 'W/watch-nb=' 'S/entry-size=' 't/transaction=' 'A/perm-nb=' 'outstanding=' 'K/keep-orphans' 'v/verbose' 'log-level=' 'version' 'h/help'
        case 'help'
            __swxl_parse_subcommand -r 1 'version'
        end
    end
end

function __swxl_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __swxl_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __swxl_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __swxl_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__swxl_tokens -p)
    if test -z "$(__swxl_tokens -t)"
        set -l index (count (__swxl_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'swxl' -f
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'create' -d 'Create a domain from a config file (xl.cfg, xm or SXP).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'list' -d 'List domains: xl\'s columns and state letters, or JSON.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'destroy' -d 'Destroy a domain at once: no shutdown, everything about it removed.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'shutdown' -d 'Ask a domain to shut down (its on_poweroff action follows).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'reboot' -d 'Ask a domain to reboot (its on_reboot action follows).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'pause' -d 'Pause a domain.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'unpause' -d 'Unpause a domain.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'rename' -d 'Rename a domain.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'mem-set' -d 'Set a domain\'s memory target (the guest balloons to it). Sizes: 512, 512m, 1g, 65536k.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'mem-max' -d 'Set the most memory a domain may have.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'vcpu-set' -d 'Set the number of a domain\'s online vcpus.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'vcpu-list' -d 'List domains\' vcpus, as xl does.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'domid' -d 'Print the domid of a domain name.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'domname' -d 'Print the name of a domid.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'vm-list' -d 'List the guests\' UUIDs, domids and names.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'uptime' -d 'How long domains have been up.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'info' -d 'Information about the host, as `xl info` prints it.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'dmesg' -d 'The hypervisor\'s console ring.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'console' -d 'Attach to a domain\'s console (Ctrl-] detaches).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'network-attach' -d 'Create a new virtual network device.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'network-list' -d 'List virtual network interfaces for a domain.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'network-detach' -d 'Destroy a domain\'s virtual network device.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'block-attach' -d 'Create a new virtual block device.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'block-list' -d 'List virtual block devices for a domain.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'block-detach' -d 'Destroy a domain\'s virtual block device.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'config' -d 'Read, check and convert domain config files (xl.cfg, legacy xm, SXP, JSON).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'store' -d 'Read and change xenstore, like Xen\'s xenstore-* tools.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'xenstored' -d 'Run swxl\'s xenstore daemon (for hosts without Xen\'s own).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" p' -s 'p' -d 'Leave the domain paused after it is created.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" dry-run dryrun n' -s 'n' -l 'dryrun' -l 'dry-run' -d 'Only parse the config and print it resolved, as JSON.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" q quiet' -l 'quiet' -s 'q' -d 'Quiet: print nothing on success.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" d' -s 'd' -d 'Debug: print the resolved config, as JSON, on stderr, then create.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" defconfig f' -s 'f' -l 'defconfig' -d 'The config file (then every argument is a KEY=VALUE override).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" c' -s 'c' -d 'Connect to the console after the domain is created.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" F' -s 'F' -d 'Run in the foreground until the domain dies (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" e' -s 'e' -d 'Do not wait in the background for the domain\'s death (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" V vncviewer' -s 'V' -l 'vncviewer' -d 'Connect to the VNC display (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" A vncviewer-autopass' -s 'A' -l 'vncviewer-autopass' -d 'Pass the VNC password to the viewer (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" i ignore-global-affinity-masks' -s 'i' -l 'ignore-global-affinity-masks' -d 'Ignore the global vCPU affinity masks (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" v verbose' -l 'verbose' -s 'v' -d 'Also show each domain\'s UUID and shutdown reason code.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" l long' -l 'long' -s 'l' -d 'The domains\' configurations as JSON: [{"domid":..,"config":..}].'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" Z context' -s 'Z' -l 'context' -d 'Also show the security label (`-`: swxl reads no XSM labels).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" c cpupool' -s 'c' -l 'cpupool' -d 'Also show each domain\'s cpupool (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" n numa' -s 'n' -l 'numa' -d 'Also show the NUMA node affinity (on a host with one node; more: not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" json' -l 'json' -d 'One JSON object per domain, for scripts (swxl\'s addition).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl destroy" f' -s 'f' -d 'Permit destroying domain 0.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl destroy" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl destroy" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl destroy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl shutdown" a all' -l 'all' -s 'a' -d 'All domains.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl shutdown"' -l 'wait' -s 'w' -d 'Wait until the domain has shut down (-ww: until it is gone).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl shutdown" F' -s 'F' -d 'Fall back to an ACPI power event for HVM guests with no PV drivers (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl shutdown" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl shutdown" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl shutdown" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl reboot" a all' -l 'all' -s 'a' -d 'All domains.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl reboot"' -l 'wait' -s 'w' -d 'Wait until the domain has shut down for the reboot (-ww: until it is gone).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl reboot" F' -s 'F' -d 'Fall back to an ACPI reset event for HVM guests with no PV drivers (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl reboot" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl reboot" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl reboot" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl pause" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl pause" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl pause" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl unpause" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl unpause" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl unpause" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl rename" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl rename" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl rename" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl mem-set" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl mem-set" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl mem-set" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl mem-max" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl mem-max" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl mem-max" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-set" i ignore-host' -s 'i' -l 'ignore-host' -d 'Allow more vCPUs than the host has CPUs.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-set" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-set" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-set" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-list" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-list" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vcpu-list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl domid" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl domid" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl domid" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl domname" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl domname" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl domname" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vm-list" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vm-list" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl vm-list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl uptime" s' -s 's' -d 'Short form, like uptime(1).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl uptime" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl uptime" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl uptime" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl info" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl info" n numa' -s 'n' -l 'numa' -d 'Also list the host\'s NUMA topology (not supported yet).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl info" json' -l 'json' -d 'One JSON object, for scripts: numbers as numbers, virt_caps as a list (swxl\'s addition).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl info" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl info" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl dmesg" c clear' -s 'c' -l 'clear' -d 'Clear the ring after reading it.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl dmesg" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl dmesg" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl dmesg" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl console" f' -s 'f' -d 'Embedded host: print the console log and keep following it until the guest dies (swxl\'s addition).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl console" t' -s 't' -d 'The console type: pv, serial or vuart (default: serial for HVM guests, else pv).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl console" n' -s 'n' -d 'The console number (default 0).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl console" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl console" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl console" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-attach" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-attach" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-attach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-list" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-list" json' -l 'json' -d 'Print JSON instead of xl\'s table.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-list" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-detach" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-detach" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl network-detach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-attach" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-attach" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-attach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-list" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-list" json' -l 'json' -d 'Print JSON instead of xl\'s table.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-list" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-detach" host' -l 'host' -d 'The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-detach" f force' -s 'f' -l 'force' -d 'Do not wait for the domain to release the device.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-detach" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl block-detach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl config" -eq 1' -fa 'check' -d 'Check config files: every problem as file:line:col, exit 1 on any error.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl config" -eq 1' -fa 'show' -d 'Read a config and print it as JSON, SXP or xl.cfg (converting between formats).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config check" from' -l 'from' -d 'The input format: auto, xl, xm, sxp or json.' -rfka 'auto xl xm sxp json'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config check" strict' -l 'strict' -d 'Treat warnings as errors.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl config check" -ge 1' -F
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config check" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config show" format' -l 'format' -d 'The output format: json, sxp or xl.' -rfka 'json sxp xl'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config show" from' -l 'from' -d 'The input format: auto, xl, xm, sxp or json.' -rfka 'auto xl xm sxp json'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl config show" -ge 1' -F
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config show" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl config show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'read' -d 'Print the values at paths (several: read in one transaction).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'write' -d 'Write values: path value [path value ...] (several: in one transaction).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'ls' -d 'Print the tree below a path with values, as xenstore-ls does.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'list' -d 'Print the names of a path\'s children, one per line.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'exists' -d 'Exit 0 if every path exists, 1 if one does not. Prints nothing.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'rm' -d 'Remove paths and everything below them.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'mkdir' -d 'Create paths (and missing parents) with empty values.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'chmod' -d 'Set a path\'s permissions: the first names the owner and everyone else\'s access.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'getperms' -d 'Print paths\' permissions, e.g. n0,r5 (owner first).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'watch' -d 'Print \'path token\' for each change at or below the paths (the token is the watched path).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_positional "swxl store" -eq 1' -fa 'transaction' -d 'Run a batch of operations atomically, retrying when another change conflicts.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store read" p prefix' -l 'prefix' -s 'p' -d 'Print each value after its path and \': \'.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store read" R raw' -s 'R' -l 'raw' -d 'Print values as they are, without escapes or newline.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store read" json' -l 'json' -d 'Print a JSON object from path to value.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store read" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store read" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store write" R raw' -s 'R' -l 'raw' -d 'Take values as they are: no backslash escapes.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store write" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store write" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store ls" f full' -l 'full' -s 'f' -d 'Full paths instead of an indented tree; nothing is cut.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store ls" p permissions' -s 'p' -l 'permissions' -d 'Show each node\'s permissions.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store ls" json' -l 'json' -d 'Print a JSON array of {path, value[, perms]}.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store ls" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store ls" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store list" p prefix' -l 'prefix' -s 'p' -d 'Print full paths, not just names.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store list" json' -l 'json' -d 'Print a JSON object from path to its children.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store list" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store exists" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store exists" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store rm" t tidy' -l 'tidy' -s 't' -d 'Also remove parents left empty (no value, no children).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store rm" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store rm" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store mkdir" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store mkdir" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store chmod" r recursive' -l 'recursive' -s 'r' -d 'Also set them on everything below the path.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store chmod" u upto' -l 'upto' -s 'u' -d 'Also set them on every parent up to the root.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store chmod" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store chmod" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store getperms" p prefix' -l 'prefix' -s 'p' -d 'Print each after its path and \': \'.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store getperms" json' -l 'json' -d 'Print a JSON object from path to its permission list.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store getperms" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store getperms" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store watch" n number' -s 'n' -l 'number' -d 'Stop after this many events.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store watch" json' -l 'json' -d 'Print one JSON object {path, token} per line.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store watch" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store watch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store transaction" json' -l 'json' -d 'Print a JSON array of {op, path[, value|children|perms]}.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store transaction" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl store transaction" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" N f foreground no-fork' -s 'f' -l 'foreground' -s 'N' -l 'no-fork' -d 'Stay in the foreground (do not detach).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" state-dir' -l 'state-dir' -d 'State directory (default: SWXL_STATE_DIR, /var/lib/swxl for root, else ~/.local/state/swxl).' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" memory-only' -l 'memory-only' -d 'Keep the tree in memory only: nothing survives a restart.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" busy-poll-us' -l 'busy-poll-us' -d 'Microseconds to poll without sleeping after handling requests (0: never). Keeps round trips short where waking an idle CPU is slow, as on a VM.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" cpu-latency-request' -l 'cpu-latency-request' -d 'While busy polling, ask Linux to keep idle CPUs polling too (PM QoS, /dev/cpu_dma_latency; root only), so a client answered on another CPU wakes at once.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" no-cpu-latency-request' -l 'no-cpu-latency-request' -d 'While busy polling, ask Linux to keep idle CPUs polling too (PM QoS, /dev/cpu_dma_latency; root only), so a client answered on another CPU wakes at once.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" E entry-nb' -s 'E' -l 'entry-nb' -d 'Nodes an unprivileged domain may own.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" W watch-nb' -s 'W' -l 'watch-nb' -d 'Watches an unprivileged domain may hold.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" S entry-size' -s 'S' -l 'entry-size' -d 'Bytes of value plus child names per node, for unprivileged domains.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" t transaction' -s 't' -l 'transaction' -d 'Open transactions per unprivileged connection.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" A perm-nb' -s 'A' -l 'perm-nb' -d 'Entries in one permission list set by an unprivileged domain.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" outstanding' -l 'outstanding' -d 'Requests in flight per unprivileged connection before reading pauses.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" K keep-orphans' -s 'K' -l 'keep-orphans' -d 'Keep the nodes a released domain owned (by default they are removed, as Xen 4.17 does).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" v verbose' -s 'v' -l 'verbose' -d 'Log connections and domain changes (info level).'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" log-level' -l 'log-level' -d 'Log level: trace, debug, info, notice, warning, error, critical.' -rfka ''
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" version' -l 'version' -d 'Show the version.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl xenstored" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'swxl' -n '__swxl_should_offer_completions_for_flags_or_options "swxl help" version' -l 'version' -d 'Show the version.'
