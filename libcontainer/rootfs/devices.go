package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
)

func mode(m os.FileMode) *os.FileMode { return &m }

// DefaultDevices every container gets, as in runc and the runtime-spec.
var DefaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: mode(0o666)},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5, FileMode: mode(0o666)},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7, FileMode: mode(0o666)},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8, FileMode: mode(0o666)},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9, FileMode: mode(0o666)},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0, FileMode: mode(0o666)},
}

var devLinks = [][2]string{
	{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
}

// devices emits the device nodes (the spec's and the defaults), then the
// standard symlinks of /dev.
func (p *Compiler) devices() error {
	b, c := p.b, p.c
	devs := append([]specs.LinuxDevice(nil), c.Devices...)
	for _, d := range DefaultDevices {
		dup := false
		for _, u := range c.Devices {
			dup = dup || filepath.Clean(u.Path) == d.Path
		}
		if !dup {
			devs = append(devs, d)
		}
	}
	b.Add("set umask 0 for device nodes", plan.OpUmask, plan.Int(0))
	for i := range devs {
		if err := p.device(&devs[i]); err != nil {
			return fmt.Errorf("create device %s: %w", devs[i].Path, err)
		}
	}
	b.Add("restore umask", plan.OpUmask, plan.Int(0o022))
	dev := b.Slot()
	b.Add("open /dev", plan.OpOpenInRoot, plan.Int(int64(dev)), plan.Int(int64(p.root)), plan.Str("/dev"),
		plan.Int(plan.HowMkdir|plan.HowDirectory), plan.Int(0o755))
	links := devLinks
	if c.HasKcore {
		links = append(links[:len(links):len(links)], [2]string{"/proc/kcore", "core"})
	}
	for _, l := range links {
		b.Addf(plan.OpSymlink, []plan.Arg{plan.Int(int64(dev)), plan.Str(l[1]), plan.Str(l[0])}, "symlink /dev/%s", l[1]).
			AltErrnos = []int{int(unix.EEXIST)}
	}
	b.Close(dev)
	return nil
}

func devType(t string) (uint32, error) {
	switch t {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("invalid device type %q", t)
}

func (p *Compiler) device(d *specs.LinuxDevice) error {
	b, c := p.b, p.c
	typ, err := devType(d.Type)
	if err != nil {
		return err
	}
	path := filepath.Clean("/" + d.Path)
	desc := "create device " + d.Path
	dir := b.Slot()
	b.Add(desc, plan.OpOpenInRoot, plan.Int(int64(dir)), plan.Int(int64(p.root)), plan.Str(filepath.Dir(path)),
		plan.Int(plan.HowMkdir|plan.HowDirectory), plan.Int(0o755))
	name := filepath.Base(path)
	// Replace whatever the image put there (a symlink to /dev/null's
	// place must not survive).
	b.Add(desc+": remove old node", plan.OpUnlink, plan.Int(int64(dir)), plan.Str(name), plan.Int(0)).AltErrnos = []int{int(unix.ENOENT)}
	// mknod of a device is refused in a user namespace: bind the host's
	// node. A fifo needs no privilege and has no host node to bind.
	if c.UserNS && typ != unix.S_IFIFO {
		b.Close(dir)
		o, _ := parseOptions([]string{"bind", "nosuid", "noexec"})
		if err := p.bind(desc+": bind host device", d.Path, path, o); err != nil {
			return err
		}
		return nil
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	b.Add(desc+": mknod", plan.OpMknod, plan.Int(int64(dir)), plan.Str(name), plan.Int(int64(typ|perm)),
		plan.Int(int64(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))))
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	b.Add(desc+": chown", plan.OpChown, plan.Int(int64(dir)), plan.Str(name), plan.Int(int64(uid)), plan.Int(int64(gid)))
	b.Close(dir)
	return nil
}
