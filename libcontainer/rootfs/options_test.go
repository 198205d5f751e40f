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
	set, clr := b.attrs()
	if set != unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOATIME || clr != unix.MOUNT_ATTR__ATIME {
		t.Errorf("attrs = %#x %#x", set, clr)
	}
	if _, err := parseOptions([]string{"a,b"}); err == nil {
		t.Error("accepted an option with a comma")
	}
}
