package lsm

import "testing"

func TestMountData(t *testing.T) {
	const l = "system_u:object_r:container_file_t:s0:c1,c2"
	for _, c := range []struct{ fstype, data, label, want string }{
		{"tmpfs", "mode=755", l, `mode=755,context="` + l + `"`},
		{"devpts", "", l, `context="` + l + `"`},
		{"tmpfs", "mode=755", "", "mode=755"},
		// These keep their own labels; mqueue is relabelled after mounting.
		{"proc", "", l, ""},
		{"sysfs", "", l, ""},
		{"mqueue", "", l, ""},
		{"cgroup2", "", l, ""},
	} {
		if got := MountData(c.fstype, c.data, c.label); got != c.want {
			t.Errorf("MountData(%q, %q, label) = %q, want %q", c.fstype, c.data, got, c.want)
		}
	}
}

// Empty profiles and labels are nothing to apply: no procfs access at all.
func TestEmptyIsNoop(t *testing.T) {
	for name, err := range map[string]error{
		"apparmor": SetAppArmorExec(""), "exec": SetSELinuxExec(""), "keyring": SetSELinuxKeyring(""),
		"file": SetFileLabel(nil, ""),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
