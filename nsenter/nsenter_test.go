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
	flags, nns, err := parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if flags != b.CloneFlags || nns != 2 {
		t.Fatalf("parsed flags %#x nns %d, want %#x 2", flags, nns, b.CloneFlags)
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
	} {
		if _, _, err := parse(msg); err == nil {
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
	seed, _ := (&Bootstrap{CloneFlags: unix.CLONE_NEWNS, Join: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/proc/1/ns/net"}}, TimensOffsets: "boottime 1 0\n"}).Encode()
	f.Add(seed)
	f.Add([]byte("TEU1"))
	f.Add([]byte("TEU1\x02\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		flags, nns, err := parse(msg)
		if err != nil {
			return
		}
		if nns < 0 || nns > 8 {
			t.Fatalf("accepted %d namespaces", nns)
		}
		if flags&^uint32(unix.CLONE_NEWUSER|unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWNET|unix.CLONE_NEWIPC|unix.CLONE_NEWUTS|unix.CLONE_NEWCGROUP|unix.CLONE_NEWTIME) != 0 {
			t.Fatalf("accepted flags %#x", flags)
		}
	})
}
