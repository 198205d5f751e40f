package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/teu-runtime/teu/libcontainer/caps"
	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// Features is what `teu features` prints: runtime-spec's features document,
// built from the very tables that validate and apply configs, so it lists
// nothing teu would refuse or ignore. annotations are added as they are.
func Features(annotations map[string]string) *features.Features {
	t, f := true, false
	ann := map[string]string{
		"io.github.seccomp.libseccomp.version": seccomp.Version(),
		// runc's annotation for CRIU checkpoint/restore, which other
		// runtimes may set: teu has it (docs/checkpoint.md), whether or
		// not this host's CRIU and kernel can do it.
		"org.opencontainers.runc.checkpoint.enabled": "true",
		// What it does not do: refused with an error.
		"org.teu-runtime.checkpoint.unsupported": "rootless; --lazy-pages checkpoint without --page-server; containers without a mount namespace; restoring a network namespace's devices, addresses and routes",
	}
	for k, v := range annotations {
		ann[k] = v
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         append([]string{}, hooks.Kinds...),
		MountOptions:  rootfs.MountOptions(),
		Linux: &features.Linux{
			Namespaces:   validate.NamespaceNames(),
			Capabilities: caps.Names(),
			Cgroup: &features.Cgroup{
				V1:          boolPtr(cgroups.Registered(cgroups.DriverFs1)),
				V2:          boolPtr(cgroups.Registered(cgroups.DriverFs2)),
				Systemd:     boolPtr(cgroups.Registered(cgroups.DriverSystemd)),
				SystemdUser: boolPtr(false), // root only: no user-instance scopes
				// Both fs drivers write linux.resources.rdma.
				Rdma: boolPtr(cgroups.Registered(cgroups.DriverFs1) && cgroups.Registered(cgroups.DriverFs2)),
			},
			Seccomp: &features.Seccomp{
				Enabled:        &t,
				Actions:        seccomp.Actions(),
				Operators:      seccomp.Operators(),
				Archs:          seccomp.Archs(),
				KnownFlags:     seccomp.KnownFlags(),
				SupportedFlags: seccomp.SupportedFlags(),
			},
			// teu applies process.apparmorProfile, selinuxLabel and
			// linux.mountLabel (a no-op on a host without the LSM).
			Apparmor: &features.Apparmor{Enabled: &t},
			Selinux:  &features.Selinux{Enabled: &t},
			// linux.intelRdt is refused (hostcheck.go): no resctrl support yet.
			IntelRdt: &features.IntelRdt{Enabled: &f},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: validate.SortedKeys(validate.MemoryPolicyModes),
				Flags: validate.SortedKeys(validate.MemoryPolicyFlags),
			},
			// idmap/ridmap and mount uid/gid mappings: idmapped bind mounts.
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &t}},
			NetDevices:      &features.NetDevices{Enabled: &t},
		},
		Annotations: ann,
		// Annotations that change what the runtime does on the host.
		PotentiallyUnsafeConfigAnnotations: []string{"org.criu.config"},
	}
}

func boolPtr(b bool) *bool { return &b }
