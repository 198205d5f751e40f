package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/lsm"
)

// lsmForHost drops exactly the profile and labels this host cannot apply,
// on a copy: the caller's spec is not changed.
func TestLsmForHost(t *testing.T) {
	s := &specs.Spec{
		Process: &specs.Process{Args: []string{"sh"}, ApparmorProfile: "p", SelinuxLabel: "u:r:t"},
		Linux:   &specs.Linux{MountLabel: "u:object_r:t", Sysctl: map[string]string{"a": "b"}},
	}
	got := lsmForHost(s)
	if s.Process.ApparmorProfile != "p" || s.Process.SelinuxLabel != "u:r:t" || s.Linux.MountLabel != "u:object_r:t" {
		t.Fatalf("the caller's spec changed: %+v %+v", s.Process, s.Linux)
	}
	aa, se := lsm.AppArmorEnabled(), lsm.SELinuxEnabled()
	if (got.Process.ApparmorProfile == "p") != aa {
		t.Errorf("apparmor enabled %v, profile %q", aa, got.Process.ApparmorProfile)
	}
	if (got.Process.SelinuxLabel == "u:r:t") != se || (got.Linux.MountLabel == "u:object_r:t") != se {
		t.Errorf("selinux enabled %v, labels %q %q", se, got.Process.SelinuxLabel, got.Linux.MountLabel)
	}
	if got.Linux.Sysctl["a"] != "b" || got.Process.Args[0] != "sh" {
		t.Errorf("lost the rest of the spec: %+v", got)
	}
	plain := &specs.Spec{Process: &specs.Process{Args: []string{"sh"}}, Linux: &specs.Linux{}}
	if lsmForHost(plain) != plain {
		t.Error("a spec without LSM settings was copied")
	}
}
