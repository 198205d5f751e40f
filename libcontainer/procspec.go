package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// procSpec and procLinux mirror specs.Spec and specs.Linux without what no
// container process is set up from: the other platforms' sections, and the
// cgroup settings (linux.resources, linux.intelRdt) that the parent applies.
// exec decodes the stored spec through them:
// encoding/json lists the fields of, and builds an encoder for, every type
// a struct can reach before it decodes a single value, and specs.Spec
// reaches a few hundred. A fresh teu process pays for each one in page
// faults (bench/README.md). TestProcSpecMirrors keeps the mirrors whole.
type procSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *procLinux        `json:"linux,omitempty"`
}

type procLinux struct {
	UIDMappings       []specs.LinuxIDMapping           `json:"uidMappings,omitempty"`
	GIDMappings       []specs.LinuxIDMapping           `json:"gidMappings,omitempty"`
	Sysctl            map[string]string                `json:"sysctl,omitempty"`
	CgroupsPath       string                           `json:"cgroupsPath,omitempty"`
	Namespaces        []specs.LinuxNamespace           `json:"namespaces,omitempty"`
	Devices           []specs.LinuxDevice              `json:"devices,omitempty"`
	NetDevices        map[string]specs.LinuxNetDevice  `json:"netDevices,omitempty"`
	Seccomp           *specs.LinuxSeccomp              `json:"seccomp,omitempty"`
	RootfsPropagation string                           `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string                         `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string                         `json:"readonlyPaths,omitempty"`
	MountLabel        string                           `json:"mountLabel,omitempty"`
	MemoryPolicy      *specs.LinuxMemoryPolicy         `json:"memoryPolicy,omitempty"`
	Personality       *specs.LinuxPersonality          `json:"personality,omitempty"`
	TimeOffsets       map[string]specs.LinuxTimeOffset `json:"timeOffsets,omitempty"`
}

// spec is m as a *specs.Spec.
func (m *procSpec) spec() *specs.Spec {
	s := &specs.Spec{Version: m.Version, Process: m.Process, Root: m.Root, Hostname: m.Hostname,
		Domainname: m.Domainname, Mounts: m.Mounts, Hooks: m.Hooks, Annotations: m.Annotations}
	if l := m.Linux; l != nil {
		s.Linux = &specs.Linux{UIDMappings: l.UIDMappings, GIDMappings: l.GIDMappings, Sysctl: l.Sysctl,
			CgroupsPath: l.CgroupsPath, Namespaces: l.Namespaces, Devices: l.Devices, NetDevices: l.NetDevices,
			Seccomp: l.Seccomp, RootfsPropagation: l.RootfsPropagation, MaskedPaths: l.MaskedPaths,
			ReadonlyPaths: l.ReadonlyPaths, MountLabel: l.MountLabel, MemoryPolicy: l.MemoryPolicy,
			Personality: l.Personality, TimeOffsets: l.TimeOffsets}
	}
	return s
}
