package libcontainer

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCPUList(t *testing.T) {
	for want, cpus := range map[string][]int{"": nil, "0": {0}, "0-1": {0, 1}, "0-2,5,7-8": {0, 1, 2, 5, 7, 8}, "1023": {1023}} {
		var set unix.CPUSet
		for _, c := range cpus {
			set.Set(c)
		}
		if got := cpuList(&set); got != want {
			t.Errorf("%v: got %q, want %q", cpus, got, want)
		}
	}
}

func TestNameMatches(t *testing.T) {
	for _, c := range []struct {
		got, name string
		ok        bool
	}{
		{"eth0", "eth0", true}, {"eth1", "eth0", false}, {"eth0", "eth%d", true}, {"eth12", "eth%d", true},
		{"eth", "eth%d", false}, {"ethx", "eth%d", false}, {"veth3", "eth%d", false}, {"c7x", "c%dx", true},
	} {
		if nameMatches(c.got, c.name) != c.ok {
			t.Errorf("nameMatches(%q, %q) != %v", c.got, c.name, c.ok)
		}
	}
}

func TestNlAttrPadding(t *testing.T) {
	b := nlAttr(nil, unix.IFLA_IFNAME, []byte("eth0\x00"))
	// 4 header bytes + 5: the length field says 9, the buffer is padded to 12.
	want := binary.NativeEndian.AppendUint16(nil, 9)
	want = binary.NativeEndian.AppendUint16(want, unix.IFLA_IFNAME)
	want = append(want, 'e', 't', 'h', '0', 0, 0, 0, 0)
	if !bytes.Equal(b, want) {
		t.Errorf("got %v, want %v", b, want)
	}
	if b = nlAttr(b, unix.IFLA_NET_NS_FD, []byte{1, 0, 0, 0}); len(b) != 20 {
		t.Errorf("second attribute: length %d", len(b))
	}
}
