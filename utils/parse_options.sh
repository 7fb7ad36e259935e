# shellcheck shell=bash
# utils/parse_options.sh -- Kaldi-style command-line options for recipe scripts.
#
# Source it (without arguments) after the script has given its options their
# default values, and optionally set `help_message`:
#
#     stage=1            # first stage to run
#     stop_stage=100     # last stage to run
#     use_video=true     # train on the video stream
#     help_message="Usage: $0 [options] <data-dir>"
#     . utils/parse_options.sh || exit 1
#     # the positional arguments are now "$@"
#
# Rules:
#   * --name value and --name=value set the shell variable `name`; dashes in
#     the option name map to underscores (--stop-stage 3 sets stop_stage).
#     "--name value" always takes the next word as the value, even if it
#     starts with "--" (--asr_args "--foo 1").
#   * The options are the script's shell variables that are set when this file
#     is sourced, whose names start with a lowercase letter, and that are not
#     exported, read-only, arrays or namerefs (so the environment, e.g.
#     http_proxy, cannot be overridden by accident).  Anything else is an
#     "unknown option" error naming it.
#   * A variable whose default is true or false only accepts true or false.
#   * --help / -h prints $help_message, then every option with its current
#     value (in the order the script assigns them; the comment after the
#     assignment, if any, is shown as its description), and exits 0.
#   * --config FILE (any number, in order) sources FILE before the other
#     options are applied, whatever their position (Kaldi convention).  FILE
#     holds lines `name=value` (shell syntax), blank lines and # comments;
#     every name must be an option of the script.
#   * Parsing stops at the first word that does not start with "--" (except
#     -h) or after "--"; the remaining words stay in "$@".
#   * Errors print "<script>: ..." on stderr and exit 1.
# Needs bash >= 4.4.  Variables and functions used here start with __po_ and
# are removed afterwards.

if [[ -z ${BASH_VERSINFO:-} ]] || ((BASH_VERSINFO[0] < 4 ||
    (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
    echo "utils/parse_options.sh: needs bash >= 4.4 (this is ${BASH_VERSION:-not bash})" >&2
    exit 1
fi

__po_prog=${0##*/}

__po_die() {
    echo "${__po_prog}: $*" >&2
    exit 1
}

# __po_is_option NAME: true if NAME is an option of the calling script.
__po_is_option() {
    [[ $1 =~ ^[a-z][A-Za-z0-9_]*$ ]] || return 1
    [[ $1 == help_message ]] && return 1
    [[ -n ${!1+set} ]] || return 1
    local __po_attrs=${!1@a}
    [[ $__po_attrs == *[xraAn]* ]] && return 1
    return 0
}

# __po_check_bool NAME VALUE [WHERE]
__po_check_bool() {
    if [[ -n ${__po_bools[$1]+set} && $2 != true && $2 != false ]]; then
        __po_die "${3:+$3: }--$1 expects true or false, got '$2'"
    fi
    return 0
}

__po_print_help() {
    local __po_name __po_line __po_src __po_re __po_desc __po_val
    local -a __po_order=()
    local -A __po_seen=() __po_descs=()
    if [[ -n ${help_message:-} ]]; then
        printf '%s\n' "$help_message"
    else
        printf 'Usage: %s [options] [args...]\n' "$__po_prog"
    fi
    # Order and descriptions from the assignments in the sourcing script.
    __po_src=${BASH_SOURCE[2]:-}
    __po_re='^[[:space:]]*([a-z][A-Za-z0-9_]*)=("[^"]*"|'"'"'[^'"'"']*'"'"'|[^[:space:]#]*)[[:space:]]*(#[[:space:]]*(.*))?$'
    if [[ -n $__po_src && -r $__po_src ]]; then
        while IFS= read -r __po_line || [[ -n $__po_line ]]; do
            if [[ $__po_line =~ $__po_re ]]; then
                __po_name=${BASH_REMATCH[1]}
                if [[ -n ${__po_opts[$__po_name]+set} && -z ${__po_seen[$__po_name]+set} ]]; then
                    __po_seen[$__po_name]=1
                    __po_order+=("$__po_name")
                    __po_descs[$__po_name]=${BASH_REMATCH[4]}
                fi
            fi
        done <"$__po_src"
    fi
    for __po_name in "${__po_names[@]}"; do
        if [[ -z ${__po_seen[$__po_name]+set} ]]; then
            __po_order+=("$__po_name")
        fi
    done
    echo
    echo "Options (--name value, --name=value; dashes may replace underscores):"
    for __po_name in "${__po_order[@]}"; do
        __po_val=${!__po_name}
        [[ -z $__po_val ]] && __po_val='""'
        __po_desc=${__po_descs[$__po_name]:-}
        if [[ -n $__po_desc ]]; then
            printf '  --%-22s %-14s # %s\n' "$__po_name" "$__po_val" "$__po_desc"
        else
            printf '  --%-22s %s\n' "$__po_name" "$__po_val"
        fi
    done
    printf '  %-24s %s\n' "--config FILE" "source FILE (name=value lines) before the other options" \
        "--help, -h" "print this message and exit"
}

# All options, and the ones whose default is true/false.
declare -a __po_names=()
declare -A __po_opts=() __po_bools=()
while IFS= read -r __po_name; do
    if __po_is_option "$__po_name"; then
        __po_names+=("$__po_name")
        __po_opts[$__po_name]=1
        if [[ ${!__po_name} == true || ${!__po_name} == false ]]; then
            __po_bools[$__po_name]=1
        fi
    fi
done < <(compgen -v)

# Pass 1: --config files, in order, before any other option.
__po_i=1
while ((__po_i <= $#)); do
    __po_arg=${!__po_i}
    __po_file=
    case $__po_arg in
        --) break ;;
        --config)
            __po_next=$((__po_i + 1))
            ((__po_next <= $#)) || __po_die "option --config needs a value"
            __po_file=${!__po_next}
            __po_i=$((__po_i + 2))
            ;;
        --config=*)
            __po_file=${__po_arg#--config=}
            __po_i=$((__po_i + 1))
            ;;
        -h | --help) __po_i=$((__po_i + 1)) ;;
        --*=*) __po_i=$((__po_i + 1)) ;;
        --?*) __po_i=$((__po_i + 2)) ;;
        *) break ;;
    esac
    if [[ -n $__po_file || $__po_arg == --config* ]]; then
        [[ -n $__po_file ]] || __po_die "option --config needs a file name"
        [[ -f $__po_file && -r $__po_file ]] || __po_die "--config $__po_file: no such readable file"
        __po_lineno=0
        while IFS= read -r __po_line || [[ -n $__po_line ]]; do
            __po_lineno=$((__po_lineno + 1))
            __po_line=${__po_line#"${__po_line%%[![:space:]]*}"}
            [[ -z $__po_line || $__po_line == \#* ]] && continue
            if [[ $__po_line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]]; then
                __po_name=${BASH_REMATCH[1]}
                [[ -n ${__po_opts[$__po_name]+set} ]] ||
                    __po_die "$__po_file:$__po_lineno: unknown option '$__po_name'"
            else
                __po_die "$__po_file:$__po_lineno: expected name=value, got: $__po_line"
            fi
        done <"$__po_file"
        # shellcheck disable=SC1090
        . "$__po_file" || __po_die "--config $__po_file: sourcing failed"
        for __po_name in "${!__po_bools[@]}"; do
            __po_check_bool "$__po_name" "${!__po_name}" "$__po_file"
        done
    fi
done

# Pass 2: the other options.
while (($# > 0)); do
    case $1 in
        --)
            shift
            break
            ;;
        --help | -h)
            __po_print_help
            exit 0
            ;;
        --config)
            shift 2
            continue
            ;;
        --config=*)
            shift
            continue
            ;;
        --*=*)
            __po_opt=${1%%=*}
            __po_value=${1#*=}
            shift
            ;;
        --?*)
            __po_opt=$1
            (($# >= 2)) || __po_die "option $1 needs a value"
            __po_value=$2
            shift 2
            ;;
        *) break ;;
    esac
    __po_name=${__po_opt#--}
    __po_name=${__po_name//-/_}
    if [[ -z ${__po_opts[$__po_name]+set} ]]; then
        __po_die "unknown option $__po_opt (see $__po_prog --help)"
    fi
    __po_check_bool "$__po_name" "$__po_value"
    printf -v "$__po_name" '%s' "$__po_value"
done

unset -f __po_die __po_is_option __po_check_bool __po_print_help
unset __po_prog __po_names __po_opts __po_bools __po_i __po_arg __po_file \
    __po_next __po_lineno __po_line __po_name __po_opt __po_value
true
