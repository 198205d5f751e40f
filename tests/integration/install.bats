#!/usr/bin/env bats
# make install / make uninstall into a temporary DESTDIR: the binary, the
# man pages and the bash and zsh completions, each checked.
load helpers

setup() {
	new_bundle
	DEST=$TEST_ROOT/dest
}

# mk TARGET VAR=VALUE...: make in the source tree, quietly.
mk() {
	make -s -C "$TEU_SRC" "$@"
}

# commands: the commands `teu --help` lists (not help), one a line.
commands() {
	"$TEU_BIN" --help | sed -n '/^COMMANDS:/,/^$/p' | sed -n 's/^   \([a-z][a-z-]*\).*/\1/p' | grep -vx help
}

# flags CMD: the long flags `teu CMD --help` lists (not --help), one a line.
flags() {
	"$TEU_BIN" "$1" --help | sed -n '/^OPTIONS:/,$p' | sed -n 's/^   \(--[a-z][a-z0-9-]*\).*/\1/p' | grep -vx -- --help
}

@test "install: make install puts each file under DESTDIR/PREFIX, make uninstall removes each" {
	mk install DESTDIR="$DEST"
	p=$DEST/usr/local
	want=("$p/sbin/teu" "$p/share/man/man8/teu.8" "$p/share/bash-completion/completions/teu" "$p/share/zsh/site-functions/_teu")
	for c in $(commands); do
		want+=("$p/share/man/man8/teu-$c.8")
	done
	[ "${#want[@]}" -gt 15 ]
	# Exactly these files, nothing else.
	diff <(printf '%s\n' "${want[@]}" | sort) <(find "$DEST" -type f | sort)
	[ "$(stat -c %a "$p/sbin/teu")" = 755 ]
	cmp "$p/sbin/teu" "$TEU_BIN"
	"$p/sbin/teu" --version | grep -q '^teu version'
	for f in "${want[@]:1}"; do
		[ "$(stat -c %a "$f")" = 644 ] || { echo "$f: mode $(stat -c %a "$f")" >&2; return 1; }
	done
	for f in "$p"/share/man/man8/*; do
		cmp "$f" "$TEU_SRC/docs/man/${f##*/}"
	done
	cmp "$p/share/bash-completion/completions/teu" "$TEU_SRC/contrib/completions/bash/teu"
	cmp "$p/share/zsh/site-functions/_teu" "$TEU_SRC/contrib/completions/zsh/_teu"
	mk uninstall DESTDIR="$DEST"
	[ -z "$(find "$DEST" -type f)" ]
}

@test "install: PREFIX and the directory variables move what goes where" {
	mk install DESTDIR="$DEST" PREFIX=/usr MANDIR=/usr/share/man ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	[ -x "$DEST/usr/sbin/teu" ]
	[ -f "$DEST/usr/share/man/man8/teu-run.8" ]
	[ -f "$DEST/usr/share/bash-completion/completions/teu" ]
	[ -f "$DEST/usr/share/zsh/vendor-completions/_teu" ]
	[ ! -e "$DEST/usr/local" ]
	mk uninstall DESTDIR="$DEST" PREFIX=/usr MANDIR=/usr/share/man ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	[ -z "$(find "$DEST" -type f)" ]
}

@test "install: the man pages render without a warning and name every flag teu --help shows" {
	mk install DESTDIR="$DEST"
	man8=$DEST/usr/local/share/man/man8
	for page in "$man8"/*.8; do
		# groff's own warnings (-ww), not man's.
		warn=$(groff -man -ww -z -Tutf8 "$page" 2>&1)
		[ -z "$warn" ] || { echo "$page: $warn" >&2; return 1; }
	done
	MANWIDTH=120 man -l "$man8/teu.8" >"$TEST_ROOT/teu.txt" 2>/dev/null
	for c in $(commands); do
		grep -q "teu-$c(8)" "$TEST_ROOT/teu.txt" || { echo "teu(8) does not name teu-$c(8)" >&2; return 1; }
		MANWIDTH=120 man -l "$man8/teu-$c.8" >"$TEST_ROOT/page.txt" 2>/dev/null
		grep -q "^NAME" "$TEST_ROOT/page.txt"
		for f in $(flags "$c"); do
			grep -qe "$f" "$TEST_ROOT/page.txt" || { echo "teu-$c(8) lacks $f" >&2; return 1; }
		done
	done
	for f in --root --log --log-format --debug --rootless --trace --systemd-cgroup; do
		grep -qe "$f" "$TEST_ROOT/teu.txt" || { echo "teu(8) lacks $f" >&2; return 1; }
	done
	grep -q TEU_TRACE "$TEST_ROOT/teu.txt"
}

# complete_bash WORD...: what the installed bash completion offers for the
# last word, one a line (teu on PATH is the installed one).
complete_bash() {
	PATH=$DEST/usr/local/sbin:$PATH bash -c '
		source "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		_teu
		printf "%s\n" "${COMPREPLY[@]}"' _ "$DEST/usr/local/share/bash-completion/completions/teu" "$@"
}

@test "install: bash completion: commands, flags, their values and container ids" {
	mk install DESTDIR="$DEST"
	set_args sleep 1000
	teu create --bundle "$BUNDLE" c1
	teu create --bundle "$BUNDLE" c2
	[ "$(complete_bash teu cr)" = create ]
	[ "$(complete_bash teu --log-f)" = --log-format ]
	[ "$(complete_bash teu --log-format '')" = "$(printf 'text\njson')" ]
	[ "$(complete_bash teu list --format j)" = json ]
	[ "$(complete_bash teu exec --cw)" = --cwd ]
	# Existing ids, from the state root the command line names.
	[ "$(complete_bash teu --root "$TEU_ROOT" kill '')" = "$(printf 'c1\nc2')" ]
	[ "$(complete_bash teu --root="$TEU_ROOT" delete --force c)" = "$(printf 'c1\nc2')" ]
	[ "$(complete_bash teu --root "$TEU_ROOT" --debug state c2)" = c2 ]
	# create names a new container; exec's command line is the container's.
	[ -z "$(complete_bash teu --root "$TEU_ROOT" create '')" ]
	[ -z "$(complete_bash teu --root "$TEU_ROOT" exec c1 --)" ]
	# A directory flag completes directories.
	mkdir "$TEST_ROOT/xdir"
	touch "$TEST_ROOT/xfile"
	[ "$(complete_bash teu run --bundle "$TEST_ROOT/x")" = "$TEST_ROOT/xdir" ]
	[ "$(complete_bash teu run --pid-file "$TEST_ROOT/x" | sort)" = "$(printf '%s\n' "$TEST_ROOT/xdir" "$TEST_ROOT/xfile")" ]
}

# complete_zsh LINE: what the installed zsh completion offers at the end
# of LINE, one a line.
complete_zsh() {
	PATH=$DEST/usr/local/sbin:$PATH zsh -f "$TEU_SRC/tests/integration/complete-zsh.zsh" \
		"$DEST/usr/local/share/zsh/site-functions" "$1"
}

@test "install: zsh completion: commands, flags, their values and container ids" {
	mk install DESTDIR="$DEST"
	set_args sleep 1000
	teu create --bundle "$BUNDLE" c1
	teu create --bundle "$BUNDLE" c2
	[ "$(complete_zsh 'teu cr')" = create ]
	[ "$(complete_zsh 'teu --log-format ' | sort)" = "$(printf 'json\ntext')" ]
	[ "$(complete_zsh 'teu list --form')" = --format ]
	[ "$(complete_zsh "teu --root $TEU_ROOT kill " | sort)" = "$(printf 'c1\nc2')" ]
	[ -z "$(complete_zsh "teu --root $TEU_ROOT create ")" ]
}
