#!/usr/bin/env bats
# features: runtime-spec's features JSON, consistent with what teu accepts.
load helpers

@test "features: valid JSON with the key fields" {
	run teu features
	[ "$status" -eq 0 ]
	echo "$output" | jq -e . >/dev/null
	f=$output
	[ "$(jq -r .ociVersionMin <<<"$f")" = 1.0.0 ]
	[ "$(jq -r .ociVersionMax <<<"$f")" = "$(teu --version | awk '/^spec:/ {print $2}')" ]
	[ "$(jq -c .hooks <<<"$f")" = '["prestart","createRuntime","createContainer","startContainer","poststart","poststop"]' ]
	[ "$(jq -c '.linux.namespaces' <<<"$f")" = '["cgroup","ipc","mount","network","pid","time","user","uts"]' ]
	jq -e '.mountOptions | index("rbind") and index("rro") and index("rprivate") and index("idmap") and index("ridmap") and (index("tmpcopyup") | not)' <<<"$f"
	jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") and index("CAP_CHECKPOINT_RESTORE") and length >= 41' <<<"$f"
	jq -e '.linux.cgroup == {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true}' <<<"$f"
	jq -e '.linux.seccomp.enabled and (.linux.seccomp.actions | index("SCMP_ACT_NOTIFY")) and (.linux.seccomp.operators | length == 7)' <<<"$f"
	jq -e '.linux.seccomp.knownFlags | index("SECCOMP_FILTER_FLAG_LOG")' <<<"$f"
	jq -e '(.linux.seccomp.supportedFlags - .linux.seccomp.knownFlags) == []' <<<"$f"
	[ "$(uname -m)" != x86_64 ] || jq -e '.linux.seccomp.archs | index("SCMP_ARCH_X86_64") and index("SCMP_ARCH_X86")' <<<"$f"
	jq -e '.linux.apparmor.enabled and .linux.selinux.enabled and .linux.intelRdt.enabled == false' <<<"$f"
	jq -e '.linux.mountExtensions.idmap.enabled == true' <<<"$f"
	jq -e '.annotations["io.github.seccomp.libseccomp.version"] and .annotations["org.teu-runtime.version"]' <<<"$f"
	run teu features extra
	assert_one_error_line
}

@test "features: every listed seccomp action and supported flag, and every namespace, is accepted" {
	f=$(teu features)
	# Every advertised seccomp action, on a syscall the container does not use.
	for a in $(jq -r '.linux.seccomp.actions[]' <<<"$f"); do
		[ "$a" = SCMP_ACT_NOTIFY ] && continue
		update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": $(jq -c .linux.seccomp.supportedFlags <<<"$f" | jq -c 'map(select(. != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))'), \"syscalls\": [{\"names\": [\"acct\"], \"action\": \"$a\"}]}"
		set_args true
		run teu run --bundle "$BUNDLE" "f-$RANDOM"
		echo "$a: $output"
		[ "$status" -eq 0 ]
	done
	# Every advertised namespace but user and time (those need extra config).
	update_config 'del(.linux.seccomp)'
	for n in $(jq -r '.linux.namespaces[]' <<<"$f"); do
		[ "$n" = user ] || [ "$n" = time ] && continue
		update_config ".linux.namespaces |= (map(select(.type != \"$n\")) + [{\"type\": \"$n\"}])"
	done
	run teu run --bundle "$BUNDLE" f-ns
	[ "$status" -eq 0 ]
}
