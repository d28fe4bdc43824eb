#!/bin/bash

__swxl_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__swxl_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__swxl_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__swxl_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_swxl() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __swxl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|destroy|shutdown|reboot|pause|unpause|rename|mem-set|mem-max|vcpu-set|domid|domname|vm-list|uptime|info|dmesg|console|new|start|delete|save|migrate|restore|migrate-receive|vcpu-list|vcpu-pin|sched-credit|sched-credit2|sysrq|debug-keys|dump-core|cpupool-list|top|network-attach|network-list|network-detach|block-attach|block-list|block-detach|config|store|xenstored|serve|help)
        # Offer subcommand argument completions
        "_swxl_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list destroy shutdown reboot pause unpause rename mem-set mem-max vcpu-set domid domname vm-list uptime info dmesg console new start delete save migrate restore migrate-receive vcpu-list vcpu-pin sched-credit sched-credit2 sysrq debug-keys dump-core cpupool-list top network-attach network-list network-detach block-attach block-list block-detach config store xenstored serve help' -- "${cur}"))
        ;;
    esac
}

_swxl_create() {
    repeating_flags=()
    non_repeating_flags=(-p -n --dryrun --dry-run --quiet -q -d -c -F -e -V --vncviewer -A --vncviewer-autopass -i --ignore-global-affinity-masks --version -h --help)
    repeating_options=()
    non_repeating_options=(-f --defconfig --host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-f'|'--defconfig')
        return
        ;;
    '--host')
        return
        ;;
    esac
}

_swxl_list() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --long -l -Z --context -c --cpupool -n --numa --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_destroy() {
    repeating_flags=()
    non_repeating_flags=(-f --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_shutdown() {
    repeating_flags=(--wait -w)
    non_repeating_flags=(--all -a -F --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_reboot() {
    repeating_flags=(--wait -w)
    non_repeating_flags=(--all -a -F --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_pause() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_unpause() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_rename() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_mem-set() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_mem-max() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_vcpu-set() {
    repeating_flags=()
    non_repeating_flags=(-i --ignore-host --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_domid() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_domname() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_vm-list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_uptime() {
    repeating_flags=()
    non_repeating_flags=(-s --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_info() {
    repeating_flags=()
    non_repeating_flags=(-n --numa --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_dmesg() {
    repeating_flags=()
    non_repeating_flags=(-c --clear --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_console() {
    repeating_flags=()
    non_repeating_flags=(-f --version -h --help)
    repeating_options=()
    non_repeating_options=(-t -n --host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-t')
        return
        ;;
    '-n')
        return
        ;;
    '--host')
        return
        ;;
    esac
}

_swxl_new() {
    repeating_flags=()
    non_repeating_flags=(--quiet -q -i --ignore-global-affinity-masks --version -h --help)
    repeating_options=()
    non_repeating_options=(-f --defconfig --host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-f'|'--defconfig')
        return
        ;;
    '--host')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __swxl_add_completions -f
        return
        ;;
    esac
}

_swxl_start() {
    repeating_flags=()
    non_repeating_flags=(-p --paused -c --console_autoconnect --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_delete() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_save() {
    repeating_flags=()
    non_repeating_flags=(-c -p -D --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_migrate() {
    repeating_flags=()
    non_repeating_flags=(-e -F --debug --live -p -D --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(-C -s --host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-C')
        return
        ;;
    '-s')
        return
        ;;
    '--host')
        return
        ;;
    esac
}

_swxl_restore() {
    repeating_flags=()
    non_repeating_flags=(-p -e -d -F -c -V --vncviewer -A --vncviewer-autopass --quiet -q --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_migrate-receive() {
    repeating_flags=()
    non_repeating_flags=(-e -F -d -p -r --colo --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_vcpu-list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_vcpu-pin() {
    repeating_flags=()
    non_repeating_flags=(-f --force -i --ignore-global-affinity-masks --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 4

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_sched-credit() {
    repeating_flags=()
    non_repeating_flags=(-s --schedparam --version -h --help)
    repeating_options=()
    non_repeating_options=(-d --domain -w --weight -c --cap -r --ratelimit_us -p --cpupool --host -t --tslice_ms -m --migration_delay_us)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-d'|'--domain')
        return
        ;;
    '-w'|'--weight')
        return
        ;;
    '-c'|'--cap')
        return
        ;;
    '-r'|'--ratelimit_us')
        return
        ;;
    '-p'|'--cpupool')
        return
        ;;
    '--host')
        return
        ;;
    '-t'|'--tslice_ms')
        return
        ;;
    '-m'|'--migration_delay_us')
        return
        ;;
    esac
}

_swxl_sched-credit2() {
    repeating_flags=()
    non_repeating_flags=(-s --schedparam --version -h --help)
    repeating_options=()
    non_repeating_options=(-d --domain -w --weight -c --cap -r --ratelimit_us -p --cpupool --host)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-d'|'--domain')
        return
        ;;
    '-w'|'--weight')
        return
        ;;
    '-c'|'--cap')
        return
        ;;
    '-r'|'--ratelimit_us')
        return
        ;;
    '-p'|'--cpupool')
        return
        ;;
    '--host')
        return
        ;;
    esac
}

_swxl_sysrq() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_debug-keys() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_dump-core() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_cpupool-list() {
    repeating_flags=()
    non_repeating_flags=(-c --cpus --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_top() {
    repeating_flags=()
    non_repeating_flags=(-n --networks -x --vbds -r --repeat-header -v --vcpus -b --batch -f --full-name -V --version --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-d --delay -i --iterations --host)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-d'|'--delay')
        return
        ;;
    '-i'|'--iterations')
        return
        ;;
    '--host')
        return
        ;;
    esac
}

_swxl_network-attach() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_network-list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_network-detach() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_block-attach() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_block-list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_block-detach() {
    repeating_flags=()
    non_repeating_flags=(-f --force --version -h --help)
    repeating_options=()
    non_repeating_options=(--host)
    __swxl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    esac
}

_swxl_config() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    check|show)
        # Offer subcommand argument completions
        "_swxl_config_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'check show' -- "${cur}"))
        ;;
    esac
}

_swxl_config_check() {
    repeating_flags=()
    non_repeating_flags=(--strict --version -h --help)
    repeating_options=()
    non_repeating_options=(--from)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--from')
        __swxl_add_completions -W 'auto'$'\n''xl'$'\n''xm'$'\n''sxp'$'\n''json'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __swxl_add_completions -f
        return
        ;;
    esac
}

_swxl_config_show() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--format --from)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--format')
        __swxl_add_completions -W 'json'$'\n''sxp'$'\n''xl'
        return
        ;;
    '--from')
        __swxl_add_completions -W 'auto'$'\n''xl'$'\n''xm'$'\n''sxp'$'\n''json'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __swxl_add_completions -f
        return
        ;;
    esac
}

_swxl_store() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    read|write|ls|list|exists|rm|mkdir|chmod|getperms|watch|transaction)
        # Offer subcommand argument completions
        "_swxl_store_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'read write ls list exists rm mkdir chmod getperms watch transaction' -- "${cur}"))
        ;;
    esac
}

_swxl_store_read() {
    repeating_flags=()
    non_repeating_flags=(--prefix -p -R --raw --json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_write() {
    repeating_flags=()
    non_repeating_flags=(-R --raw --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_ls() {
    repeating_flags=()
    non_repeating_flags=(--full -f -p --permissions --json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options 1
}

_swxl_store_list() {
    repeating_flags=()
    non_repeating_flags=(--prefix -p --json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_exists() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_rm() {
    repeating_flags=()
    non_repeating_flags=(--tidy -t --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_mkdir() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_chmod() {
    repeating_flags=()
    non_repeating_flags=(--recursive -r --upto -u --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_getperms() {
    repeating_flags=()
    non_repeating_flags=(--prefix -p --json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_store_watch() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(-n --number)
    __swxl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-n'|'--number')
        return
        ;;
    esac
}

_swxl_store_transaction() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

_swxl_xenstored() {
    repeating_flags=()
    non_repeating_flags=(-f --foreground -N --no-fork --memory-only --cpu-latency-request --no-cpu-latency-request -K --keep-orphans --xen-host --no-xen-host -P --output-pid -D --no-domain-init -R --no-recovery -U --live-update -v --verbose -V --version -h --help)
    repeating_options=(-Q --quota -q --quota-soft -w --timeout)
    non_repeating_options=(--state-dir --busy-poll-us --guest-poll-us -E --entry-nb -W --watch-nb -S --entry-size -t --transaction -A --perm-nb --outstanding -F --pid-file -M --path-max -T --trace-file --event --master-domid --priv-domid --domain-sockets --log-level)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--state-dir')
        return
        ;;
    '--busy-poll-us')
        return
        ;;
    '--guest-poll-us')
        return
        ;;
    '-E'|'--entry-nb')
        return
        ;;
    '-W'|'--watch-nb')
        return
        ;;
    '-S'|'--entry-size')
        return
        ;;
    '-t'|'--transaction')
        return
        ;;
    '-A'|'--perm-nb')
        return
        ;;
    '--outstanding')
        return
        ;;
    '-F'|'--pid-file')
        return
        ;;
    '-Q'|'--quota')
        return
        ;;
    '-q'|'--quota-soft')
        return
        ;;
    '-w'|'--timeout')
        return
        ;;
    '-M'|'--path-max')
        return
        ;;
    '-T'|'--trace-file')
        return
        ;;
    '--event')
        return
        ;;
    '--master-domid')
        return
        ;;
    '--priv-domid')
        return
        ;;
    '--domain-sockets')
        __swxl_add_completions -W 'introduce'$'\n''request'
        return
        ;;
    '--log-level')
        return
        ;;
    esac
}

_swxl_serve() {
    repeating_flags=()
    non_repeating_flags=(-f --foreground --xen-host --no-xen-host -v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(--host --state-dir --socket --tcp --credentials --pid-file --max-connections --max-request-bytes --log-level)
    __swxl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    '--state-dir')
        return
        ;;
    '--socket')
        return
        ;;
    '--tcp')
        return
        ;;
    '--credentials')
        return
        ;;
    '--pid-file')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--max-request-bytes')
        return
        ;;
    '--log-level')
        return
        ;;
    esac
}

_swxl_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __swxl_offer_flags_options -1
}

complete -o filenames -F _swxl swxl
