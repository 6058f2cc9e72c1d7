# bash completion for isula (iSulad-TS): commands, their flags, container and image names.
# Commands and flags are read from `isula --help` and `isula COMMAND --help`, names from the
# daemon (`isula ps -a --format`, `isula images`) at completion time, through the -H and TLS
# flags already on the command line (or ISULAD_HOST).

# The global flags of the line being completed, to reach the same daemon.
_isula_global_flags() {
	local i w
	_isula_globals=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-H | --host | --tlscacert | --tlscert | --tlskey)
			_isula_globals+=("$w" "${COMP_WORDS[i + 1]}")
			((i++))
			;;
		--host=* | --tlscacert=* | --tlscert=* | --tlskey=* | --tls | --tls=* | --tlsverify | --tlsverify=*)
			_isula_globals+=("$w")
			;;
		esac
	done
}

_isula_commands() {
	isula --help 2>/dev/null | awk '/^COMMANDS:/ {on = 1; next} /^$/ {on = 0} on {print $1}'
}

# "-n --name" per option line of `isula CMD --help`, then ":v" when the flag takes a value.
_isula_flag_lines() {
	isula "$1" --help 2>/dev/null | awk '/^Options:/ {on = 1; next} on && /^ +-/ {
		flags = ""; value = ($0 ~ /\[(string|number|array)\]/) ? ":v" : "";
		for (i = 1; i <= NF; i++) { f = $i; sub(/,$/, "", f); if (f ~ /^-/) flags = flags " " f; else break }
		print flags value
	}'
}

# Whether flag $1 takes a value, by the flag lines $2.
_isula_takes_value() {
	grep -E "(^| )$1( |:v$)" <<<"$2" | grep -q ':v$'
}

_isula_containers() {
	isula "${_isula_globals[@]}" ps -a --format '{{.Names}}' 2>/dev/null
}

_isula_images() {
	isula "${_isula_globals[@]}" images 2>/dev/null | awk 'NR > 1 && $1 != "<none>" {print $1 ":" $2}'
}

_isula() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i w command="" command_at=0 lines
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-H | --host | --tlscacert | --tlscert | --tlskey) ((i++)) ;;
		-*) ;;
		*)
			command=$w
			command_at=$i
			break
			;;
		esac
	done
	_isula_global_flags
	if [[ -z $command ]]; then
		case $prev in
		-H | --host | --tlscacert | --tlscert | --tlskey) COMPREPLY=($(compgen -f -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$(_isula_commands) --help --version -H --host --tls --tlsverify --tlscacert --tlscert --tlskey" -- "$cur")) ;;
		esac
		return
	fi
	lines=$(_isula_flag_lines "$command")
	# The value of a flag: files for file flags, nothing to guess otherwise.
	if [[ $prev == -* ]] && _isula_takes_value "$prev" "$lines"; then
		case $prev in
		--external-rootfs | --env-file | --label-file | --hook-spec | -i | --input | --tlscacert | --tlscert | --tlskey) COMPREPLY=($(compgen -f -- "$cur")) ;;
		esac
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(sed 's/:v$//' <<<"$lines")" -- "$cur"))
		return
	fi
	# How many positionals came before this word (flag values skipped).
	local positional=0
	for ((i = command_at + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			[[ $w != *=* ]] && _isula_takes_value "$w" "$lines" && ((i++))
		else
			((positional++))
		fi
	done
	case $command in
	start | stop | restart | kill | pause | unpause | rm | inspect | wait | logs | attach | top | update | export)
		COMPREPLY=($(compgen -W "$(_isula_containers)" -- "$cur")) ;;
	exec | rename)
		((positional == 0)) && COMPREPLY=($(compgen -W "$(_isula_containers)" -- "$cur")) ;;
	run | create)
		((positional == 0)) && COMPREPLY=($(compgen -W "$(_isula_images) none" -- "$cur")) ;;
	rmi | history | push | save)
		COMPREPLY=($(compgen -W "$(_isula_images)" -- "$cur")) ;;
	tag)
		((positional == 0)) && COMPREPLY=($(compgen -W "$(_isula_images)" -- "$cur")) ;;
	import)
		((positional == 0)) && COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

complete -F _isula isula
