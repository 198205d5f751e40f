package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestEffectiveDevices(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	l := &specs.Linux{
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: false, Type: "c", Major: i(1), Minor: i(11), Access: "rwa"}, // runc takes "rwa" as "rw"
			{Allow: true, Type: "c", Major: i(1), Minor: i(12), Access: "x"},    // allows nothing: dropped
		}},
		// Listed nodes are made, not allowed; /dev/null's default rule
		// gives way to the spec's own node.
		Devices: []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}, {Path: "/dev/null", Type: "c", Major: 1, Minor: 3}},
	}
	r := EffectiveResources(l)
	if r.Devices[1].Access != "rw" || len(r.Devices) != 2+len(DefaultAllowedDevices)-1 {
		t.Fatalf("devices %+v", r.Devices)
	}
	for _, d := range r.Devices {
		if d.Allow && d.Major != nil && d.Minor != nil && ((*d.Major == 1 && *d.Minor == 11) || (*d.Major == 1 && *d.Minor == 3)) {
			t.Fatalf("listed node %d:%d allowed", *d.Major, *d.Minor)
		}
	}
}
