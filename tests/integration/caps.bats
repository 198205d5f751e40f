#!/usr/bin/env bats
# process.capabilities and noNewPrivileges as /proc/self/status shows them.
load helpers

# capnum NAME: a capability's number.
capnum() {
	case $1 in
	CAP_CHOWN) echo 0 ;; CAP_DAC_OVERRIDE) echo 1 ;; CAP_FOWNER) echo 3 ;; CAP_KILL) echo 5 ;;
	CAP_SETGID) echo 6 ;; CAP_SETUID) echo 7 ;; CAP_SETPCAP) echo 8 ;; CAP_NET_BIND_SERVICE) echo 10 ;;
	CAP_NET_RAW) echo 13 ;; CAP_SYS_CHROOT) echo 18 ;; CAP_SYS_ADMIN) echo 21 ;; CAP_AUDIT_WRITE) echo 29 ;;
	CAP_BPF) echo 39 ;; *) echo "unknown capability $1" >&2; return 1 ;;
	esac
}

# A script that listens on port 80 (CAP_NET_BIND_SERVICE) and prints its
# uid and whether the socket showed up.
LISTEN80='id -u; nc -l -p 80 </dev/null & for i in $(seq 100); do cat /proc/net/tcp /proc/net/tcp6 | grep -q ":0050 " && break; kill -0 $! 2>/dev/null || break; sleep 0.05; done; cat /proc/net/tcp /proc/net/tcp6 | grep -c ":0050 "; kill $! 2>/dev/null; true'

# mask NAME...: the 16-digit hex set /proc/self/status prints.
mask() {
	local m=0 n
	for n in "$@"; do m=$((m | 1 << $(capnum "$n"))); done
	printf '%016x' "$m"
}

# json NAME...: a JSON array of names.
json() {
	if [ $# -eq 0 ]; then echo '[]'; else printf '%s\n' "$@" | jq -R . | jq -sc .; fi
}

caps_of_container() {
	run_sh 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):" /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
}

field() {
	printf '%s\n' "$output" | awk -v f="$1:" '$1 == f {print $2}'
}

@test "caps: the default config's three capabilities, root" {
	caps_of_container
	want=$(mask CAP_AUDIT_WRITE CAP_KILL CAP_NET_BIND_SERVICE)
	[ "$(field CapBnd)" = "$want" ]
	[ "$(field CapPrm)" = "$want" ]
	[ "$(field CapEff)" = "$want" ]
	[ "$(field CapInh)" = 0000000000000000 ]
	[ "$(field CapAmb)" = 0000000000000000 ]
}

@test "caps: root with a custom set" {
	set=(CAP_CHOWN CAP_DAC_OVERRIDE CAP_SETPCAP CAP_SYS_CHROOT CAP_BPF)
	s=$(json "${set[@]}")
	update_config ".process.capabilities = {\"bounding\": $s, \"permitted\": $s, \"effective\": $s, \"inheritable\": [\"CAP_CHOWN\"]}"
	caps_of_container
	want=$(mask "${set[@]}")
	[ "$(field CapBnd)" = "$want" ]
	[ "$(field CapPrm)" = "$want" ]
	[ "$(field CapEff)" = "$want" ]
	[ "$(field CapInh)" = "$(mask CAP_CHOWN)" ]
	[ "$(field CapAmb)" = 0000000000000000 ]
}

@test "caps: no capabilities at all" {
	update_config '.process.capabilities = {}'
	caps_of_container
	for f in CapBnd CapPrm CapEff CapInh CapAmb; do
		[ "$(field $f)" = 0000000000000000 ]
	done
	run_sh 'chown 1000 /dev/null 2>&1 || echo refused'
	[[ "$output" == *refused* ]]
}

@test "caps: non-root user with ambient capabilities" {
	bnd=(CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SETUID)
	prm=(CAP_KILL CAP_NET_BIND_SERVICE CAP_NET_RAW)
	eff=(CAP_KILL CAP_NET_BIND_SERVICE)
	inh=(CAP_NET_BIND_SERVICE CAP_NET_RAW)
	amb=(CAP_NET_BIND_SERVICE)
	update_config ".process.user = {\"uid\": 1000, \"gid\": 1000} | .process.capabilities = {
		\"bounding\": $(json "${bnd[@]}"), \"permitted\": $(json "${prm[@]}"), \"effective\": $(json "${eff[@]}"),
		\"inheritable\": $(json "${inh[@]}"), \"ambient\": $(json "${amb[@]}")}"
	caps_of_container
	# After execve a non-root process keeps only its ambient set in its
	# permitted and effective sets.
	[ "$(field CapBnd)" = "$(mask "${bnd[@]}")" ]
	[ "$(field CapInh)" = "$(mask "${inh[@]}")" ]
	[ "$(field CapAmb)" = "$(mask "${amb[@]}")" ]
	[ "$(field CapPrm)" = "$(mask "${amb[@]}")" ]
	[ "$(field CapEff)" = "$(mask "${amb[@]}")" ]
	# And it can use it: bind a port below 1024 as uid 1000.
	run_sh "$LISTEN80"
	echo "$output"
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1 ]
}

@test "caps: non-root user without ambient capabilities has none effective" {
	s=$(json CAP_NET_BIND_SERVICE CAP_KILL)
	update_config ".process.user = {\"uid\": 1000, \"gid\": 1000} | .process.capabilities = {\"bounding\": $s, \"permitted\": $s, \"effective\": $s}"
	caps_of_container
	[ "$(field CapBnd)" = "$(mask CAP_NET_BIND_SERVICE CAP_KILL)" ]
	[ "$(field CapPrm)" = 0000000000000000 ]
	[ "$(field CapEff)" = 0000000000000000 ]
	[ "$(field CapAmb)" = 0000000000000000 ]
	run_sh "$LISTEN80"
	echo "$output"
	[[ "$output" == *"Permission denied"* ]]
	[ "${lines[-1]}" = 0 ]
}

@test "caps: an ambient capability missing from inheritable is left out with a warning, as runc does" {
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities = {"bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"], "ambient": ["CAP_KILL"]}'
	run_sh 'grep CapAmb /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"level=warning"*"can't raise ambient capability CAP_KILL"* ]]
	[[ "$output" == *"CapAmb:"*"0000000000000000"* ]]
}

@test "caps: an unknown capability is ignored with a warning, as runc does" {
	update_config '.process.capabilities.bounding += ["CAP_NOPE"] | .process.capabilities.effective += ["CAP_NOPE"]'
	run_sh 'echo ran'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"level=warning"*"ignoring unknown or unavailable capabilities: [CAP_NOPE]"* ]]
	[ "${lines[-1]}" = ran ]
}

@test "caps: noNewPrivileges true and false" {
	update_config '.process.noNewPrivileges = true'
	caps_of_container
	[ "$(field NoNewPrivs)" = 1 ]
	update_config '.process.noNewPrivileges = false'
	caps_of_container
	[ "$(field NoNewPrivs)" = 0 ]
}
