#!/usr/bin/env bash
# Kubernetes' path: containerd's CRI plugin with a runtime handler "teu"
# (runtime_type io.containerd.runc.v2, BinaryName = teu), driven by crictl
# as the kubelet would drive it: a host-network pod sandbox on a locally
# built pause image, a container in it, exec, logs, stop, removal.
# The CRI plugin always opens a TCP streaming server (exec, attach): this
# containerd runs in a network namespace of the test's own with only
# loopback up, and crictl joins it.
source "$(dirname "$0")/lib.sh"
eng_setup
CRICTL=${CRICTL:-$ENG_SRC/build/crictl}
[[ -x $CRICTL ]] || { echo "cri: no crictl at $CRICTL (make test-engines builds it)" >&2; exit 1; }
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
IMG=teu.test/busybox:1
PAUSE=teu.test/pause:1

mkdir -p "$T/cni/bin" "$T/cni/conf" "$T/logs"
{
	containerd_toml
	cat <<TOML
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # root lacks CAP_SYS_RESOURCE on the test host: no oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    # runc stays the default; pods ask for teu by handler (a RuntimeClass).
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$T/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.teu]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.teu.options]
        BinaryName = "$TEU"
        Root = "$T/teu"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$T/cni/bin"
    conf_dir = "$T/cni/conf"
TOML
} >"$T/config.toml"
cat >"$T/crictl.yaml" <<YAML
runtime-endpoint: unix://$T/containerd.sock
image-endpoint: unix://$T/containerd.sock
timeout: 60
YAML
start_daemon containerd unshare --net sh -c "ip link set lo up && exec containerd --config '$T/config.toml'"
wait_socket 30 "$T/containerd.sock"
CPID=$(cat "$T/containerd.pid")

# crictl ARGS: crictl in containerd's network namespace (the streaming
# server listens on its loopback).
crictl() { nsenter --net="/proc/$CPID/ns/net" "$CRICTL" --config "$T/crictl.yaml" "$@"; }
ctr_() { ctr -a "$T/containerd.sock" -n k8s.io "$@"; }

# Images: busybox, and a pause image holding tests/cmd/pause built static.
busybox_image "$T/busybox.tar" "$IMG"
mkdir -p "$T/pause-rootfs"
CGO_ENABLED=0 GOFLAGS='' "$GO" build -C "$ENG_SRC" -o "$T/pause-rootfs/pause" ./tests/cmd/pause
image_archive "$T/pause.tar" "$PAUSE" "$T/pause-rootfs" '{"Entrypoint":["/pause"]}'
ctr_ images import "$T/busybox.tar" >/dev/null
ctr_ images import "$T/pause.tar" >/dev/null
on_exit 'for p in $(crictl pods -q); do crictl stopp $p; crictl rmp -f $p; done'

cat >"$T/pod.json" <<JSON
{
  "metadata": {"name": "teu-pod", "namespace": "teu-eng", "uid": "teu-pod-$$", "attempt": 0},
  "log_directory": "$T/logs",
  "linux": {
    "cgroup_parent": "/$CG_PARENT/pod",
    "security_context": {"namespace_options": {"network": 2}}
  }
}
JSON
# ctr_json NAME CMD...: a container config running CMD.
ctr_json() {
	local name=$1
	shift
	jq -n --arg name "$name" --argjson cmd "$(printf '%s\n' "$@" | jq -R . | jq -s .)" \
		'{metadata: {name: $name}, image: {image: "teu.test/busybox:1"}, command: $cmd,
		  log_path: ($name + ".log"), linux: {}}'
}

pod_lifecycle() {
	pod=$(crictl runp --runtime teu "$T/pod.json")
	echo "$pod" >"$T/pod.id"
	crictl inspectp "$pod" | jq -e '.status.state == "SANDBOX_READY"' >/dev/null
	# The sandbox's process is our pause, run by teu in the pod's cgroup.
	pid=$(crictl inspectp "$pod" | jq -r .info.pid)
	expect_eq "$(cat /proc/$pid/comm)" pause "sandbox process"
	grep -q ":/$CG_PARENT/pod/$pod\$" "/proc/$pid/cgroup" || fail "sandbox not in its cgroup: $(cat /proc/$pid/cgroup)"
	[[ -d $T/teu/k8s.io/$pod ]] || fail "no teu state for the sandbox in $T/teu/k8s.io"
}

container_run() {
	pod=$(cat "$T/pod.id")
	ctr_json box sh -c 'trap "echo got TERM; exit 0" TERM; echo hello from $(hostname); while :; do sleep 0.2; done' >"$T/box.json"
	cid=$(crictl create "$pod" "$T/box.json" "$T/pod.json")
	echo "$cid" >"$T/box.id"
	crictl start "$cid" >/dev/null
	wait_until 20 sh -c "'$CRICTL' --config '$T/crictl.yaml' inspect $cid | jq -e '.status.state == \"CONTAINER_RUNNING\"'"
	wait_until 20 grep -q "hello from" "$T/logs/box.log"
	out=$(crictl logs "$cid" 2>&1)
	expect_contains "$out" "hello from $(hostname)" "logs (host network: the host's UTS too)"
}

exec_codes() {
	cid=$(cat "$T/box.id")
	out=$(crictl exec "$cid" sh -c 'echo in-container; cat /proc/1/comm')
	expect_contains "$out" "in-container"
	# The pod shares one pid namespace (CRI default): its PID 1 is pause.
	expect_contains "$out" "pause" "pid 1 of the pod"
	# The exec's exit code comes back through CRI (in the stream's status,
	# in ExecSync's reply): crictl reports it, and exits 1.
	expect_status 1 crictl exec "$cid" sh -c 'exit 3'
	expect_contains "$out" "command terminated with exit code 3"
	expect_status 0 crictl exec --sync "$cid" true
	expect_status 1 crictl exec --sync "$cid" sh -c 'exit 5'
	expect_contains "$out" "exited with 5"
}

stop_rm() {
	cid=$(cat "$T/box.id")
	crictl stop --timeout 20 "$cid" >/dev/null
	crictl inspect "$cid" | jq -e '.status.state == "CONTAINER_EXITED"' >/dev/null
	expect_eq "$(crictl inspect "$cid" | jq -r .status.exitCode)" 0 "exit code after TERM"
	expect_contains "$(crictl logs "$cid" 2>&1)" "got TERM"
	crictl rm "$cid" >/dev/null
	[[ ! -e $T/teu/k8s.io/$cid ]] || fail "teu state of $cid left"
	expect_no_cgroups "$cid"
}

runtime_error() {
	# teu's own message, as running teu on a bundle shows it, reaches
	# crictl's user verbatim (the shim reads teu's --log-format json).
	TEU=$TEU "$ENG_SRC/tests/integration/mkbundle.sh" "$T/b" >/dev/null
	jq '.process.terminal = false | .process.args = ["/nonexistent"]' "$T/b/config.json" >"$T/b/c.json" && mv "$T/b/c.json" "$T/b/config.json"
	want=$("$TEU" --root "$T/direct" run --bundle "$T/b" bad 2>&1) && fail "teu ran /nonexistent"
	want=${want#teu: create bad: }
	[[ -n $want ]] || fail "teu printed no error"
	pod=$(cat "$T/pod.id")
	ctr_json bad /nonexistent >"$T/bad.json"
	cid=$(crictl create "$pod" "$T/bad.json" "$T/pod.json")
	expect_status 1 crictl start "$cid"
	expect_contains "$out" "$want" "crictl's error"
	crictl rm "$cid" >/dev/null
	[[ ! -e $T/teu/k8s.io/$cid ]] || fail "teu state of $cid left"
	expect_no_cgroups "$cid"
}

pod_gone() {
	pod=$(cat "$T/pod.id")
	crictl stopp "$pod" >/dev/null
	crictl rmp "$pod" >/dev/null
	expect_eq "$(crictl pods -q)" "" "pods"
	expect_eq "$(crictl ps -aq)" "" "containers"
	expect_eq "$(ctr_ tasks ls -q)" "" "tasks"
	expect_eq "$(ls "$T/teu/k8s.io" 2>/dev/null)" "" "teu state dirs"
	expect_eq "$(awk -v t="$T/state/" 'index($5, t) == 1' /proc/self/mountinfo)" "" "mounts (rootfs, shm)"
	expect_eq "$(for m in $(cg_mounts); do [[ -d $m/$CG_PARENT/pod ]] && find "$m/$CG_PARENT/pod" -mindepth 1 -type d; done)" "" "cgroups"
}

t "pod sandbox (host network) on teu" pod_lifecycle
t "container: create, start, logs" container_run
t "exec and exit codes" exec_codes
t "stop (TERM) and rm" stop_rm
t "teu's error reaches crictl verbatim" runtime_error
t "stop and remove the pod: nothing left" pod_gone
eng_done
