package netdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestNlAttr(t *testing.T) {
	b := nlAttr([]byte{1, 2, 3, 4}, unix.IFLA_IFNAME, []byte("eth0\x00"))
	if len(b) != 4+12 || binary.NativeEndian.Uint16(b[4:]) != 9 || binary.NativeEndian.Uint16(b[6:]) != unix.IFLA_IFNAME ||
		string(b[8:13]) != "eth0\x00" || b[13] != 0 || b[15] != 0 {
		t.Errorf("nlAttr = %v", b)
	}
	info := ifInfo(7, unix.IFF_UP, unix.IFF_UP)
	m := (*unix.IfInfomsg)(unsafe.Pointer(&info[0]))
	if len(info) != unix.SizeofIfInfomsg || m.Index != 7 || m.Flags != unix.IFF_UP || m.Change != unix.IFF_UP {
		t.Errorf("ifInfo = %+v", m)
	}
}

func TestCheckNetDevices(t *testing.T) {
	if err := Check(map[string]specs.LinuxNetDevice{"lo": {}}); err != nil {
		t.Error(err)
	}
	err := Check(map[string]specs.LinuxNetDevice{"lo": {}, "teunosuch0": {}})
	if err == nil || !strings.Contains(err.Error(), "host interface teunosuch0") {
		t.Errorf("a missing device: %v", err)
	}
	if err := Move(1, nil); err != nil {
		t.Errorf("nothing to move: %v", err)
	}
}

func TestNetlinkLinks(t *testing.T) {
	s, err := openNetlink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no loopback interface in this network namespace to compare with: %v", err)
	}
	if name, err := s.linkName(ifInfo(lo.Index, 0, 0)); err != nil || name != "lo" {
		t.Errorf("linkName(%d) = %q, %v", lo.Index, name, err)
	}
	if idx, err := s.linkIndex(1<<30, "lo"); err != nil || idx != lo.Index {
		t.Errorf("linkIndex by name = %d, %v", idx, err)
	}
	if _, err := s.linkIndex(1<<30, "lo%d"); err == nil {
		t.Error("a template is found by index only")
	}
	if _, err := s.linkName(nlAttr(ifInfo(0, 0, 0), unix.IFLA_IFNAME, []byte("teunosuch0\x00"))); err == nil {
		t.Error("linkName of a missing link succeeded")
	}
	// lo's addresses are host scope: none to keep.
	if addrs, err := permanentAddrs(lo.Index); err != nil || len(addrs) != 0 {
		t.Errorf("permanentAddrs(lo) = %v, %v", addrs, err)
	}
}

// inNewNetns runs fn on a thread of its own in a new network namespace,
// passing it that thread's id; the thread ends with fn (it stays locked).
func inNewNetns(t *testing.T, fn func(tid int) error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn(unix.Gettid())
	}()
	return <-errc
}

var errNoDummy = errors.New("cannot make a dummy or veth device")

// TestMoveNetDevice moves a virtual device between two network namespaces
// of this test's own (no host device is touched): renamed, up, and with
// its permanent global address.
func TestMoveNetDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and a dummy device")
	}
	// The container: a thread parked in a new namespace until the end.
	ctTid := make(chan int)
	done := make(chan struct{})
	defer close(done)
	go inNewNetns(t, func(tid int) error { ctTid <- tid; <-done; return nil })
	tid := <-ctTid
	err := inNewNetns(t, func(int) error {
		s, err := openNetlink()
		if err != nil {
			return err
		}
		defer s.close()
		// A dummy device, or one end of a veth pair where there is no
		// dummy driver.
		for _, kind := range []string{"dummy", "veth"} {
			link := nlAttr(ifInfo(0, 0, 0), unix.IFLA_IFNAME, []byte("teut0\x00"))
			link = nlAttr(link, unix.IFLA_LINKINFO, nlAttr(nil, unix.IFLA_INFO_KIND, []byte(kind)))
			if _, err = s.request(unix.RTM_NEWLINK, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, link); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errNoDummy, err)
		}
		idx, err := s.linkIndex(0, "teut0")
		if err != nil {
			return err
		}
		addr := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: 24, Scope: unix.RT_SCOPE_UNIVERSE, Index: uint32(idx)}
		body := append([]byte{}, unsafe.Slice((*byte)(unsafe.Pointer(&addr)), unix.SizeofIfAddrmsg)...)
		body = nlAttr(body, unix.IFA_LOCAL, []byte{10, 9, 8, 7})
		body = nlAttr(body, unix.IFA_ADDRESS, []byte{10, 9, 8, 7})
		if _, err := s.request(unix.RTM_NEWADDR, unix.NLM_F_ACK|unix.NLM_F_CREATE, body); err != nil {
			return err
		}
		if err := Move(tid, map[string]specs.LinuxNetDevice{"teut0": {Name: "ctr%d"}}); err != nil {
			return err
		}
		if _, err := net.InterfaceByName("teut0"); err == nil {
			t.Error("the device is still here")
		}
		// A name taken in the container is refused before the move (of
		// this namespace's lo, which the kernel would not move anyway).
		if err := Move(tid, map[string]specs.LinuxNetDevice{"lo": {Name: "ctr0"}}); err == nil ||
			!strings.Contains(err.Error(), "exists in the container's network namespace") {
			t.Errorf("a taken name: %v", err)
		}
		// Moving it again: gone from here.
		if err := Move(tid, map[string]specs.LinuxNetDevice{"teut0": {}}); err == nil {
			t.Error("moving a missing device succeeded")
		}
		return nil
	})
	if errors.Is(err, errNoDummy) {
		t.Skipf("no virtual device to move (kernel without dummy and veth): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ns, err := os.Open("/proc/" + strconv.Itoa(tid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ct, err := netlinkIn(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.close()
	idx, err := ct.linkIndex(1<<30, "ctr0")
	if err != nil {
		t.Fatalf("the moved device is not ctr0 in the container: %v", err)
	}
	data, err := ct.request(unix.RTM_GETLINK, 0, ifInfo(idx, 0, 0))
	if err != nil || len(data) == 0 || (*unix.IfInfomsg)(unsafe.Pointer(&data[0][0])).Flags&unix.IFF_UP == 0 {
		t.Errorf("ctr0 is not up: %v", err)
	}
	addrs, err := ct.request(unix.RTM_GETADDR, unix.NLM_F_DUMP, []byte{unix.AF_INET, 0, 0, 0, 0, 0, 0, 0})
	found := false
	for _, a := range addrs {
		found = found || (len(a) >= 12 && strings.Contains(string(a), "\x0a\x09\x08\x07"))
	}
	if err != nil || !found {
		t.Errorf("10.9.8.7 did not follow the device: %v", err)
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

func TestLoUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace")
	}
	tids := make(chan int)
	done := make(chan struct{})
	defer close(done)
	go inNewNetns(t, func(tid int) error { tids <- tid; <-done; return nil })
	tid := <-tids
	if err := LoUp(tid); err != nil {
		t.Fatal(err)
	}
	ns, err := os.Open("/proc/" + strconv.Itoa(tid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	s, err := netlinkIn(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	data, err := s.request(unix.RTM_GETLINK, 0, ifInfo(1, 0, 0))
	if err != nil || len(data) == 0 || (*unix.IfInfomsg)(unsafe.Pointer(&data[0][0])).Flags&unix.IFF_UP == 0 {
		t.Errorf("lo is not up in the new namespace: %v", err)
	}
	if err := LoUp(1 << 30); err == nil {
		t.Error("LoUp of no process succeeded")
	}
}
