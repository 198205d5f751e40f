#!/usr/bin/zsh -f
# complete-zsh.zsh FPATH_DIR LINE: the matches zsh's completion system
# offers at the end of the command line LINE, one a line. It drives an
# interactive zsh in a pseudo-terminal (zsh/zpty) whose compadd prints
# what it would add.
zmodload zsh/zpty || exit 2
init=$(mktemp) || exit 2
trap 'rm -f $init $init.dump' EXIT
cat >$init <<INIT
PROMPT=
fpath=($1 \$fpath)
autoload -U compinit && compinit -u -d $init.dump
bindkey '^I' complete-word
compadd() {
	# Calls that only collect matches (_describe's) stay as they are.
	if (( \${@[(I)-[OAD]]} )); then builtin compadd "\$@"; return; fi
	local -a m
	builtin compadd -O m "\$@"
	print -rl -- "MATCH:"\${^m}
}
teu_done() { print -r -- DONE; exit }
comppostfuncs=(teu_done)
print -r -- READY
INIT
zpty z zsh -f -i
zpty -w z ". $init"
while zpty -r z line; do [[ $line == *READY* ]] && break; done
zpty -w -n z "$2"$'\t'
while zpty -r z line; do
	line=${line//[$'\r\n']/}
	[[ $line == *DONE* ]] && break
	[[ $line == *MATCH:* ]] && print -r -- "${line#*MATCH:}"
done
zpty -d z
