package nsenter

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	b := Bootstrap{
		CloneFlags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS,
		Join: []NsPath{
			{Type: unix.CLONE_NEWNET, Path: "/proc/1/ns/net"},
			{Type: unix.CLONE_NEWUSER, Path: "/proc/1/ns/user"},
		},
		TimensOffsets: "monotonic 1 0\n",
	}
	msg, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	r, err := parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if r.flags != b.CloneFlags || r.nns != 2 || r.oom != nil {
		t.Fatalf("parsed %+v, want flags %#x nns 2, no oom_score_adj", r, b.CloneFlags)
	}
	for _, adj := range []int{-1000, -1, 0, 500, 1000} {
		msg, err := (&Bootstrap{OOMScoreAdj: &adj}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		r, err := parse(msg)
		if err != nil || r.oom == nil || *r.oom != adj {
			t.Fatalf("oom_score_adj %d: parsed %+v, %v", adj, r, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, msg := range map[string][]byte{
		"empty":           nil,
		"bad magic":       []byte("XEU1"),
		"truncated hdr":   []byte("TEU1\x01\x00"),
		"length overrun":  []byte("TEU1\x01\x00\x08\x00\x00\x00\x00\x00"),
		"unknown attr":    []byte("TEU1\x09\x00\x00\x00"),
		"bad flag bits":   []byte("TEU1\x01\x00\x04\x00\x01\x00\x00\x00"),
		"two ns in one":   []byte("TEU1\x02\x00\x06\x00\x00\x00\x00\x60/x"),
		"nul in path":     []byte("TEU1\x02\x00\x06\x00\x00\x00\x00\x40/\x00"),
		"join and create": []byte("TEU1\x01\x00\x04\x00\x00\x00\x00\x40\x02\x00\x06\x00\x00\x00\x00\x40/x"),
		"oom too high":    []byte("TEU1\x05\x00\x04\x00\xe9\x03\x00\x00"),
		"oom too low":     []byte("TEU1\x05\x00\x04\x00\x17\xfc\xff\xff"),
		"oom short":       []byte("TEU1\x05\x00\x02\x00\x00\x00"),
		"oom twice":       []byte("TEU1\x05\x00\x04\x00\x00\x00\x00\x00\x05\x00\x04\x00\x00\x00\x00\x00"),
	} {
		if _, err := parse(msg); err == nil {
			t.Errorf("%s: parse accepted %q", name, msg)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	bad := []Bootstrap{
		{Join: []NsPath{{Type: unix.CLONE_NEWNET, Path: ""}}},
		{Join: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/a"}, {Type: unix.CLONE_NEWNET, Path: "/b"}}},
		{CloneFlags: unix.CLONE_NEWNET, Join: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/a"}}},
		{TimensOffsets: "a\x00b"},
		{OOMScoreAdj: new(1001)},
		{OOMScoreAdj: new(-1001)},
	}
	for i, b := range bad {
		if _, err := b.Encode(); err == nil {
			t.Errorf("case %d: Encode accepted %+v", i, b)
		}
	}
}

// FuzzParseBootstrap feeds arbitrary bytes to the C parser: it must never
// crash, and whatever it accepts must re-encode to an accepted message.
func FuzzParseBootstrap(f *testing.F) {
	adj := -999
	seed, _ := (&Bootstrap{CloneFlags: unix.CLONE_NEWNS, Join: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/proc/1/ns/net"}}, TimensOffsets: "boottime 1 0\n", OOMScoreAdj: &adj}).Encode()
	f.Add(seed)
	f.Add([]byte("TEU1"))
	f.Add([]byte("TEU1\x02\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := parse(msg)
		if err != nil {
			return
		}
		flags, nns := r.flags, r.nns
		if nns < 0 || nns > 8 {
			t.Fatalf("accepted %d namespaces", nns)
		}
		if r.oom != nil && (*r.oom < -1000 || *r.oom > 1000) {
			t.Fatalf("accepted oom_score_adj %d", *r.oom)
		}
		if flags&^uint32(unix.CLONE_NEWUSER|unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWNET|unix.CLONE_NEWIPC|unix.CLONE_NEWUTS|unix.CLONE_NEWCGROUP|unix.CLONE_NEWTIME) != 0 {
			t.Fatalf("accepted flags %#x", flags)
		}
	})
}
