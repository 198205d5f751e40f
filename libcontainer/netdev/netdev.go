// Package netdev moves host network interfaces into a container's network
// namespace (linux.netDevices), over netlink.
package netdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linux.netDevices: create moves each named host interface into the
// container's new network namespace, renamed in the same netlink request
// (a "%d" template gets a free number), brings it up there and puts back its permanent global addresses,
// which the move drops. Nothing moves them back: when the namespace dies
// with the container, the kernel returns physical devices to the host and
// destroys virtual ones (runtime-spec forbids moving them out). So does a
// create that fails after the move: its init, and the namespace, die.

// Check makes sure every device to move exists on the host, so
// create fails before anything is made.
func Check(devs map[string]specs.LinuxNetDevice) error {
	for host := range devs {
		if _, err := net.InterfaceByName(host); err != nil {
			return fmt.Errorf("linux.netDevices: host interface %s: %w", host, errors.Unwrap(err))
		}
	}
	return nil
}

// Move moves devs into the network namespace of process pid.
func Move(pid int, devs map[string]specs.LinuxNetDevice) error {
	if len(devs) == 0 {
		return nil
	}
	nsPath := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	ns, err := os.Open(nsPath)
	if err != nil {
		return fmt.Errorf("open container network namespace: %w", err)
	}
	defer ns.Close()
	host, err := openNetlink()
	if err != nil {
		return err
	}
	defer host.close()
	ct, err := netlinkIn(ns)
	if err != nil {
		return err
	}
	defer ct.close()
	for hostName, d := range devs {
		name := d.Name
		if name == "" {
			name = hostName
		}
		if err := moveNetDevice(host, ct, ns, hostName, name); err != nil {
			return fmt.Errorf("linux.netDevices: move %s to the container as %s: %w", hostName, name, err)
		}
	}
	return nil
}

func moveNetDevice(host, ct *nlSock, ns *os.File, hostName, name string) error {
	ifc, err := net.InterfaceByName(hostName)
	if err != nil {
		return errors.Unwrap(err)
	}
	addrs, err := permanentAddrs(ifc.Index)
	if err != nil {
		return err
	}
	// The kernel moves the device, then renames it in the container's
	// namespace (filling in a %d template): a name taken there would fail
	// only after the move, and the device would die with the failed
	// container. The namespace is new and nothing runs in it yet, so this
	// check holds.
	if !strings.Contains(name, "%d") {
		if _, err := ct.linkName(nlAttr(ifInfo(0, 0, 0), unix.IFLA_IFNAME, append([]byte(name), 0))); err == nil {
			return fmt.Errorf("%s exists in the container's network namespace", name)
		}
	}
	msg := ifInfo(ifc.Index, 0, 0)
	msg = nlAttr(msg, unix.IFLA_NET_NS_FD, binary.NativeEndian.AppendUint32(nil, uint32(ns.Fd())))
	msg = nlAttr(msg, unix.IFLA_IFNAME, append([]byte(name), 0))
	if _, err := host.request(unix.RTM_NEWLINK, unix.NLM_F_ACK, msg); err != nil {
		return err
	}
	// The index stays unless the container's namespace had it taken.
	idx, err := ct.linkIndex(ifc.Index, name)
	if err != nil {
		return err
	}
	if _, err := ct.request(unix.RTM_NEWLINK, unix.NLM_F_ACK, ifInfo(idx, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("bring up: %w", err)
	}
	for _, a := range addrs {
		a.hdr.Index = uint32(idx)
		body := unsafe.Slice((*byte)(unsafe.Pointer(&a.hdr)), unix.SizeofIfAddrmsg)
		body = append([]byte{}, body...)
		for _, at := range a.attrs {
			body = nlAttr(body, at.Attr.Type, at.Value)
		}
		if _, err := ct.request(unix.RTM_NEWADDR, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, body); err != nil {
			return fmt.Errorf("restore address: %w", err)
		}
	}
	return nil
}

type ifAddr struct {
	hdr   unix.IfAddrmsg
	attrs []syscall.NetlinkRouteAttr
}

// permanentAddrs are the addresses of interface idx the spec says to
// keep: permanent (IFA_F_PERMANENT) with global scope.
func permanentAddrs(idx int) ([]ifAddr, error) {
	rib, err := syscall.NetlinkRIB(unix.RTM_GETADDR, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	var out []ifAddr
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
			continue
		}
		hdr := *(*unix.IfAddrmsg)(unsafe.Pointer(&m.Data[0]))
		if int(hdr.Index) != idx || hdr.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("list addresses: %w", err)
		}
		flags := uint32(hdr.Flags)
		var keep []syscall.NetlinkRouteAttr
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFA_FLAGS:
				if len(a.Value) >= 4 {
					flags = binary.NativeEndian.Uint32(a.Value)
				}
			case unix.IFA_ADDRESS, unix.IFA_LOCAL, unix.IFA_BROADCAST:
				keep = append(keep, a)
			}
		}
		if flags&unix.IFA_F_PERMANENT == 0 {
			continue
		}
		out = append(out, ifAddr{hdr: hdr, attrs: keep})
	}
	return out, nil
}

// nlSock is a NETLINK_ROUTE socket, bound to the network namespace it was
// opened in.
type nlSock struct {
	fd  int
	seq uint32
}

func openNetlink() (*nlSock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind netlink socket: %w", err)
	}
	return &nlSock{fd: fd}, nil
}

// netlinkIn opens a netlink socket in network namespace ns, from a
// thread that enters ns only for that. A thread that cannot go back to
// our namespace is left locked, so the Go runtime ends it.
func netlinkIn(ns *os.File) (*nlSock, error) {
	type result struct {
		s   *nlSock
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open own network namespace: %w", err)}
			return
		}
		defer self.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter container network namespace: %w", err)}
			return
		}
		s, err := openNetlink()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			if s != nil {
				s.close()
			}
			ch <- result{err: fmt.Errorf("return to own network namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{s, err}
	}()
	r := <-ch
	return r.s, r.err
}

func (s *nlSock) close() { unix.Close(s.fd) }

// request sends one request and returns the replies' payloads; with
// NLM_F_ACK it waits for the kernel's answer and returns its error.
func (s *nlSock) request(typ uint16, flags uint16, body []byte) ([][]byte, error) {
	s.seq++
	hdr := unix.NlMsghdr{Len: uint32(unix.SizeofNlMsghdr + len(body)), Type: typ,
		Flags: unix.NLM_F_REQUEST | flags, Seq: s.seq}
	msg := append(append([]byte{}, unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), unix.SizeofNlMsghdr)...), body...)
	if err := unix.Sendto(s.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Seq != s.seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, errors.New("short netlink error")
				}
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return nil, syscall.Errno(-e)
				}
				return out, nil
			case unix.NLMSG_DONE:
				return out, nil
			default:
				out = append(out, m.Data)
				if m.Header.Flags&unix.NLM_F_MULTI == 0 && flags&unix.NLM_F_ACK == 0 {
					return out, nil
				}
			}
		}
	}
}

// linkIndex finds the moved device in this socket's namespace: at index
// idx if it kept it there, else by name.
func (s *nlSock) linkIndex(idx int, name string) (int, error) {
	if got, err := s.linkName(ifInfo(idx, 0, 0)); err == nil && nameMatches(got, name) {
		return idx, nil
	}
	if strings.Contains(name, "%d") {
		return 0, fmt.Errorf("moved device not found at index %d", idx)
	}
	data, err := s.request(unix.RTM_GETLINK, 0, nlAttr(ifInfo(0, 0, 0), unix.IFLA_IFNAME, append([]byte(name), 0)))
	if err != nil || len(data) == 0 || len(data[0]) < unix.SizeofIfInfomsg {
		return 0, fmt.Errorf("moved device not found: %v", err)
	}
	return int((*unix.IfInfomsg)(unsafe.Pointer(&data[0][0])).Index), nil
}

func (s *nlSock) linkName(req []byte) (string, error) {
	data, err := s.request(unix.RTM_GETLINK, 0, req)
	if err != nil {
		return "", err
	}
	if len(data) == 0 || len(data[0]) < unix.SizeofIfInfomsg {
		return "", errors.New("no link")
	}
	m := syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: unix.RTM_NEWLINK}, Data: data[0]}
	attrs, err := syscall.ParseNetlinkRouteAttr(&m)
	if err != nil {
		return "", err
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.IFLA_IFNAME {
			return strings.TrimRight(string(a.Value), "\x00"), nil
		}
	}
	return "", errors.New("link has no name")
}

// nameMatches reports whether got is name, or fills name's %d template.
func nameMatches(got, name string) bool {
	pre, post, tmpl := strings.Cut(name, "%d")
	if !tmpl {
		return got == name
	}
	num := strings.TrimSuffix(strings.TrimPrefix(got, pre), post)
	_, err := strconv.Atoi(num)
	return strings.HasPrefix(got, pre) && strings.HasSuffix(got, post) && err == nil
}

func ifInfo(idx int, flags, change uint32) []byte {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(idx), Flags: flags, Change: change}
	return append([]byte{}, unsafe.Slice((*byte)(unsafe.Pointer(&m)), unix.SizeofIfInfomsg)...)
}

// nlAttr appends a route attribute, padded to 4 bytes.
func nlAttr(b []byte, typ uint16, val []byte) []byte {
	l := unix.SizeofRtAttr + len(val)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// LoUp brings lo up in the network namespace of pid.
func LoUp(pid int) error {
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return fmt.Errorf("open the restored network namespace: %w", err)
	}
	defer ns.Close()
	s, err := netlinkIn(ns)
	if err != nil {
		return err
	}
	defer s.close()
	// lo is interface 1 in every network namespace.
	if _, err := s.request(unix.RTM_NEWLINK, unix.NLM_F_ACK, ifInfo(1, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("bring lo up in the restored network namespace: %w", err)
	}
	return nil
}
