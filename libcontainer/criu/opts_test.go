package criu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"
)

func TestCgMode(t *testing.T) {
	for in, want := range map[string]rpc.CriuCgMode{
		"": rpc.CriuCgMode_DEFAULT, "soft": rpc.CriuCgMode_SOFT, "full": rpc.CriuCgMode_FULL,
		"strict": rpc.CriuCgMode_STRICT, "ignore": rpc.CriuCgMode_IGNORE,
	} {
		if got, err := CgMode(in); err != nil || got != want {
			t.Errorf("CgMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := CgMode("props"); err == nil || !strings.Contains(err.Error(), "--manage-cgroups-mode") {
		t.Errorf("CgMode(props): %v", err)
	}
}

func TestEmptyNs(t *testing.T) {
	// The network namespace is always in: teu restores none of its devices.
	for _, in := range [][]string{nil, {"network"}, {"network", "network"}} {
		if got, err := EmptyNs(in); err != nil || got != unix.CLONE_NEWNET {
			t.Errorf("EmptyNs(%v) = %#x, %v", in, got, err)
		}
	}
	if _, err := EmptyNs([]string{"pid"}); err == nil {
		t.Error("EmptyNs(pid) accepted")
	}
}

func TestPageServer(t *testing.T) {
	ps, err := PageServer("10.0.0.1:27277")
	if err != nil || ps.GetAddress() != "10.0.0.1" || ps.GetPort() != 27277 {
		t.Fatalf("PageServer = %v, %v", ps, err)
	}
	if ps, err := PageServer("[::1]:1"); err != nil || ps.GetAddress() != "::1" {
		t.Errorf("IPv6: %v, %v", ps, err)
	}
	for _, bad := range []string{"", "host", ":1", "host:", "host:0", "host:65536", "host:x"} {
		if _, err := PageServer(bad); err == nil {
			t.Errorf("PageServer(%q) accepted", bad)
		}
	}
}

func TestExtMount(t *testing.T) {
	e, err := ExtMount("/data", "/srv/data")
	if err != nil || e.GetKey() != "/data" || e.GetVal() != "/srv/data" {
		t.Fatalf("ExtMount = %v, %v", e, err)
	}
	// A key CRIU would cut short at "]:" (restoring a host path of the
	// container's choosing), or an empty one (auto-detection): refused.
	for _, bad := range []string{"", "/b/data]:/name"} {
		if _, err := ExtMount(bad, "/x"); err == nil || !strings.Contains(err.Error(), "invalid external mount destination") {
			t.Errorf("ExtMount(%q): %v", bad, err)
		}
	}
}

func TestExtNsKey(t *testing.T) {
	if ExtNsKey("net") != "extRootNetNS" || ExtNsKey("pid") != "extRootPidNS" {
		t.Errorf("keys %s %s", ExtNsKey("net"), ExtNsKey("pid"))
	}
}

func TestLogError(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dump.log")
	os.WriteFile(log, []byte(`(00.000397) Version: 3.17.1 (gitid 0)
(00.046541) Error (criu/util.c:642): exited, status=1
(00.595888) 	RPC
Error (criu/util.c:627): execvp("iptables-restore", ...) failed: No such file or directory
(00.625680) Error (criu/net.c:3071): Locking network failed
(00.686582) Error (criu/cr-dump.c:2053): Dumping FAILED.
`), 0o600)
	typ := rpc.CriuReqType_DUMP
	err := LogError(&Failure{Type: typ, Msg: "Error (criu/cr-dump.c:2053): Dumping FAILED.\n"}, log)
	want := `criu dump failed: execvp("iptables-restore", ...) failed: No such file or directory (log: ` + log + ")"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	var f *Failure
	if !errors.As(err, &f) && !strings.HasPrefix(err.Error(), "criu dump failed") {
		t.Errorf("lost the failure: %v", err)
	}
	// Only uninformative lines: the first one still says something.
	os.WriteFile(log, []byte("(00.1) Error (criu/util.c:642): exited, status=1\n"), 0o600)
	if got := LogError(errors.New("criu dump failed"), log).Error(); !strings.Contains(got, "exited, status=1") {
		t.Errorf("got %s", got)
	}
	// No log at all: where it would be.
	if got := LogError(errors.New("x"), filepath.Join(dir, "none")).Error(); got != "x (log: "+filepath.Join(dir, "none")+")" {
		t.Errorf("got %s", got)
	}
}

func TestCheckImageDir(t *testing.T) {
	dir := t.TempDir()
	if err := CheckImageDir(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing: %v", err)
	}
	if err := CheckImageDir(dir); err == nil || !strings.Contains(err.Error(), "no inventory.img") {
		t.Errorf("empty: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o600)
	if err := CheckImageDir(filepath.Join(dir, "f")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "inventory.img"), nil, 0o600)
	if err := CheckImageDir(dir); err != nil {
		t.Errorf("image dir: %v", err)
	}
}

func TestStdioDescriptors(t *testing.T) {
	names, ext := StdioDescriptors(os.Getpid())
	if len(names) != 3 {
		t.Fatalf("names %v", names)
	}
	for i, n := range names {
		want, _ := os.Readlink("/proc/self/fd/" + string(rune('0'+i)))
		if n != want {
			t.Errorf("fd %d: %q, want %q", i, n, want)
		}
	}
	// Our own stdio is on our own mounts: nothing external.
	if len(ext) != 0 {
		t.Errorf("external %v", ext)
	}
	if id, ok := fdMountID("/proc/self/fdinfo/0"); ok && !mountIDs("/proc/self/mountinfo")[id] {
		t.Errorf("fd 0's mount %d not in our mountinfo", id)
	}
	if !isTTY(unix.Mkdev(136, 3)) || !isTTY(unix.Mkdev(5, 1)) || isTTY(unix.Mkdev(1, 3)) {
		t.Error("isTTY")
	}
}
