package rootfs

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"nosuid", "strictatime", "mode=755", "size=65536k", "ro", "rw", "rslave", "rro"})
	if err != nil {
		t.Fatal(err)
	}
	if o.flags != unix.MS_NOSUID|unix.MS_STRICTATIME {
		t.Errorf("flags = %#x", o.flags)
	}
	if o.clear&unix.MS_RDONLY == 0 {
		t.Errorf("rw after ro did not clear MS_RDONLY")
	}
	if !reflect.DeepEqual(o.data, []string{"mode=755", "size=65536k"}) {
		t.Errorf("data = %v", o.data)
	}
	if len(o.prop) != 1 || o.prop[0] != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("prop = %v", o.prop)
	}
	if o.recSet != unix.MOUNT_ATTR_RDONLY {
		t.Errorf("recSet = %#x", o.recSet)
	}
	b, _ := parseOptions([]string{"rbind", "ro", "noatime"})
	if !b.bind || !b.rec {
		t.Errorf("rbind not parsed: %+v", b)
	}
	set, clr, _ := b.exactAttrs()
	if set != unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOATIME || clr != attrFlags&^unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR__ATIME|unix.MOUNT_ATTR_NODIRATIME {
		t.Errorf("attrs = %#x %#x", set, clr)
	}
	if _, err := parseOptions([]string{"a,b"}); err == nil {
		t.Error("accepted an option with a comma")
	}
}

// A bind mount's flags follow runc's rules (its mounts_sshfs tests): the
// result of applying set/clr to a source with flags src.
func TestBindFlagsAsRunc(t *testing.T) {
	const (
		ro, nosuid, nodev, noexec = unix.MOUNT_ATTR_RDONLY, unix.MOUNT_ATTR_NOSUID, unix.MOUNT_ATTR_NODEV, unix.MOUNT_ATTR_NOEXEC
		nodiratime, nosymfollow   = unix.MOUNT_ATTR_NODIRATIME, unix.MOUNT_ATTR_NOSYMFOLLOW
		noatime, strict           = unix.MOUNT_ATTR_NOATIME, unix.MOUNT_ATTR_STRICTATIME
	)
	// apply is mount_setattr on a mount with attrs cur.
	apply := func(cur, set, clr uint64) uint64 {
		if clr&unix.MOUNT_ATTR__ATIME != 0 {
			cur &^= unix.MOUNT_ATTR__ATIME
		}
		return cur&^clr | set
	}
	for _, tc := range []struct {
		opts    []string
		src     uint64 // the source's attrs (relatime: 0)
		want    uint64
		changed bool
	}{
		{[]string{"bind"}, ro | noexec | nosymfollow | nodiratime, 0, false},
		{[]string{"bind", "dev"}, ro | noexec | nosymfollow | nodiratime, nodiratime, true},
		{[]string{"bind", "nosuid", "nodev", "rprivate"}, ro, nosuid | nodev, true},
		{[]string{"bind", "ro"}, nodev | nosuid | noexec | noatime, ro | noatime, true},
		{[]string{"bind", "dev", "suid", "exec", "atime"}, nosuid | nodev | noexec | noatime, noatime, true},
		{[]string{"bind", "norelatime"}, noatime, noatime, true},
		{[]string{"bind", "relatime"}, noatime, 0, true},
		{[]string{"bind", "nodiratime"}, noatime, nodiratime, true},
		{[]string{"bind", "strictatime"}, nodiratime, strict, true},
		{[]string{"bind", "nodiratime", "strictatime"}, noatime, strict | nodiratime, true},
	} {
		o, err := parseOptions(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		set, clr, ok := o.exactAttrs()
		if ok != tc.changed {
			t.Errorf("%v: changed = %v", tc.opts, ok)
			continue
		}
		if got := apply(tc.src, set, clr); ok && got != tc.want {
			t.Errorf("%v on %#x: %#x, want %#x", tc.opts, tc.src, got, tc.want)
		}
	}
}

// In a user namespace the source's lockable flags stay, and clearing one
// of them is an error, as in runc.
func TestBindFlagsLocked(t *testing.T) {
	o, _ := parseOptions([]string{"bind", "nosuid", "nodev"})
	set, _, why := o.lockedAttrs(unix.MS_RDONLY | unix.MS_RELATIME)
	if why != "" || set&unix.MOUNT_ATTR_RDONLY == 0 || set&(unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV) == 0 {
		t.Errorf("ro source, nosuid,nodev: set %#x, why %q", set, why)
	}
	o, _ = parseOptions([]string{"bind", "rw", "nosuid"})
	if _, _, why := o.lockedAttrs(unix.MS_RDONLY | unix.MS_RELATIME); why != "cannot clear locked flags ro" {
		t.Errorf("rw of a ro source: %q", why)
	}
	o, _ = parseOptions([]string{"bind", "relatime"})
	if _, _, why := o.lockedAttrs(unix.MS_NOATIME); why != "cannot change locked atime flags noatime" {
		t.Errorf("relatime of a noatime source: %q", why)
	}
	if statfsFlags(0)&unix.MS_STRICTATIME == 0 || statfsFlags(unix.ST_RELATIME)&unix.MS_STRICTATIME != 0 {
		t.Error("strictatime is a mount with neither noatime nor relatime")
	}
}
