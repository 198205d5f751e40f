#!/usr/bin/env bash
# containerd checkpoints and restores a container with teu as the runc v2
# shim's runtime: `ctr containers checkpoint --task` (the shim runs `teu
# checkpoint`), the task killed and deleted, `ctr containers restore --live`
# (the shim runs `teu restore`), and the process counts on from the
# checkpoint. CRIU must work on this kernel: `make test-checkpoint` runs
# this script in a QEMU guest where it does (tests/vm/checkpoint.sh); where
# it cannot (the development host) the script says so and passes.
source "$(dirname "$0")/lib.sh"
if ! command -v criu >/dev/null || ! criu check >/dev/null 2>&1; then
	echo "$ENGINE: skipped: criu cannot checkpoint on this kernel (make test-checkpoint runs this in a guest)"
	exit 0
fi
eng_setup
NS=teu-eng-ckpt
IMG=teu.test/busybox:1
CKPT=teu.test/checkpoint:1

containerd_toml io.containerd.grpc.v1.cri >"$T/config.toml"
start_daemon containerd containerd --config "$T/config.toml"
wait_socket 30 "$T/containerd.sock"

ctr_() { ctr -a "$T/containerd.sock" -n "$NS" "$@"; }
busybox_image "$T/busybox.tar" "$IMG"
ctr_ images import "$T/busybox.tar" >/dev/null
on_exit 'for c in $(ctr_ tasks ls -q); do ctr_ tasks kill -s KILL $c; done; for c in $(ctr_ containers ls -q); do ctr_ tasks delete -f $c; ctr_ containers delete $c; done'

wait_task() { wait_until 30 sh -c "ctr -a $T/containerd.sock -n $NS tasks ls | grep -q '^$1 .*$2'"; }

# The counter appends each value to /data/log; its stdio is the
# container's own /dev/null (CRIU saves no file of the host's).
counter='exec </dev/null >/dev/null 2>&1; i=0; while :; do i=$((i+1)); echo $i >>/data/log; sleep 0.1; done'
last() { tail -n1 "$T/data/log" 2>/dev/null || echo 0; }

round_trip() {
	mkdir -p "$T/data"
	ctr_ run -d --runc-binary "$TEU" --runc-root "$T/teu" --cgroup "/$CG_PARENT/ck" \
		--mount "type=bind,src=$T/data,dst=/data,options=rbind:rw" "$IMG" ck sh -c "$counter"
	wait_task ck RUNNING
	wait_until 30 sh -c "[ \$(tail -n1 $T/data/log 2>/dev/null || echo 0) -gt 5 ]"
	lo=$(last)
	# containerd pauses the task, the shim runs teu checkpoint
	# --leave-running, containerd stores the images as $CKPT and resumes.
	ctr_ containers checkpoint --task ck "$CKPT"
	hi=$(last)
	ctr_ images ls -q | grep -qx "$CKPT" || fail "no checkpoint image $CKPT"
	wait_task ck RUNNING
	wait_until 30 sh -c "[ \$(tail -n1 $T/data/log) -gt $((hi + 3)) ]"
	ctr_ tasks kill -s KILL ck
	wait_task ck STOPPED
	ctr_ tasks delete ck >/dev/null
	ctr_ containers delete ck
	[[ ! -e $T/teu/$NS/ck ]] || fail "teu state of ck left"
	killed=$(last)
	# A new container and task from the checkpoint: the shim runs teu
	# restore, with the runtime options (teu, its root) saved in it.
	ctr_ containers restore --live ck "$CKPT"
	wait_task ck RUNNING
	wait_until 30 sh -c "[ \$(wc -l <$T/data/log) -gt $((killed + 3)) ]"
	# After the last value written before the kill, the count goes on
	# from the checkpoint: from between lo and hi, not from 1.
	r=$(sed -n "$((killed + 1))p" "$T/data/log")
	[[ $r -gt $lo && $r -le $((hi + 1)) ]] || fail "restored count starts at $r, want ($lo, $((hi + 1))]"
	"$TEU" --root "$T/teu/$NS" state ck | jq -e '.status == "running"' >/dev/null ||
		fail "teu does not see ck running"
	ctr_ tasks kill -s KILL ck
	wait_task ck STOPPED
	ctr_ tasks delete ck >/dev/null
	ctr_ containers delete ck
	[[ ! -e $T/teu/$NS/ck ]] || fail "teu state of ck left"
	expect_no_cgroups ck
	note "checkpointed at $lo..$hi, killed at $killed, restored from $r"
}

t "checkpoint, kill, restore --live: counts on from the checkpoint" round_trip
eng_done
