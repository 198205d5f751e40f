package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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

func createDevices(root *os.File, c *Config) error {
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
	old := unix.Umask(0)
	defer unix.Umask(old)
	for i := range devs {
		if err := createDevice(root, c, &devs[i]); err != nil {
			return fmt.Errorf("create device %s: %w", devs[i].Path, err)
		}
	}
	dev, err := pathrs.MkdirAllHandle(root, "/dev", 0o755)
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	for _, l := range devLinks {
		if err := unix.Symlinkat(l[0], int(dev.Fd()), l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		unix.Symlinkat("/proc/kcore", int(dev.Fd()), "core")
	}
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

func createDevice(root *os.File, c *Config, d *specs.LinuxDevice) error {
	typ, err := devType(d.Type)
	if err != nil {
		return err
	}
	dir, err := pathrs.MkdirAllHandle(root, filepath.Dir(d.Path), 0o755)
	if err != nil {
		return err
	}
	defer dir.Close()
	name := filepath.Base(d.Path)
	// Replace whatever the image put there (a symlink to /dev/null's place
	// must not survive).
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove old node: %w", err)
	}
	// mknod of a device is refused in a user namespace: bind the host's
	// node. A fifo needs no privilege and has no host node to bind.
	if c.UserNS && typ != unix.S_IFIFO {
		if err := bindDevice(root, c, dir, d); err != nil {
			return fmt.Errorf("bind host device: %w", err)
		}
		return nil
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	if err := unix.Mknodat(int(dir.Fd()), name, typ|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// bindDevice binds the host's node for d: mknod is refused in a user
// namespace.
func bindDevice(root *os.File, c *Config, dir *os.File, d *specs.LinuxDevice) error {
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(d.Path), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	unix.Close(fd)
	m := specs.Mount{Source: d.Path, Destination: d.Path, Type: "bind", Options: []string{"bind", "nosuid", "noexec"}}
	o, _ := parseOptions(m.Options)
	return bindMount(root, c, &m, d.Path, o)
}

// BindConsole binds the container's pty peer onto /dev/console (after
// pivot_root), creating the mount point if the image lacks it.
func BindConsole(peer *os.File) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	h, err := consoleTarget(root)
	if err != nil {
		return err
	}
	defer h.Close()
	tree, err := unix.OpenTree(int(peer.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("clone pty: %w", err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", int(h.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind pty onto /dev/console: %w", err)
	}
	return nil
}
