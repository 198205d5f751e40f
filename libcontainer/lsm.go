package libcontainer

import (
	"log/slog"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/lsm"
)

// lsmForHost returns the spec the init gets: s itself, or a copy without
// process.apparmorProfile, process.selinuxLabel and linux.mountLabel when
// this host's kernel does not enforce that LSM. The parent decides, in the
// host's mount namespace, so the init never asks the container's /sys.
// Dropping them is a no-op by design (runc refuses a SELinux label there).
func lsmForHost(s *specs.Spec) *specs.Spec {
	p := s.Process
	if p == nil {
		return s
	}
	mountLabel := ""
	if s.Linux != nil {
		mountLabel = s.Linux.MountLabel
	}
	dropAA := p.ApparmorProfile != "" && !lsm.AppArmorEnabled()
	dropSE := (p.SelinuxLabel != "" || mountLabel != "") && !lsm.SELinuxEnabled()
	if !dropAA && !dropSE {
		return s
	}
	c, pc := *s, *p
	c.Process = &pc
	if dropAA {
		slog.Debug("AppArmor is not enabled on this host: process.apparmorProfile ignored", "profile", p.ApparmorProfile)
		pc.ApparmorProfile = ""
	}
	if dropSE {
		slog.Debug("SELinux is not enabled on this host: SELinux labels ignored", "process", p.SelinuxLabel, "mount", mountLabel)
		pc.SelinuxLabel = ""
		if s.Linux != nil {
			lc := *s.Linux
			lc.MountLabel = ""
			c.Linux = &lc
		}
	}
	return &c
}
