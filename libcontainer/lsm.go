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

// applyLSMExec arms the AppArmor profile and SELinux label for our execve.
// It runs as root, before any seccomp filter and before no_new_privs, as
// runc does: leaving unconfined for a profile is allowed under
// no_new_privs, but a filter could deny the procfs writes. A startContainer
// hook forked after this inherits the pending labels, as with runc.
func applyLSMExec(p *specs.Process) error {
	if err := lsm.SetAppArmorExec(p.ApparmorProfile); err != nil {
		return err
	}
	return lsm.SetSELinuxExec(p.SelinuxLabel)
}
