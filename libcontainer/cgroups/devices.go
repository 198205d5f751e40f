package cgroups

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func devRule(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// defaultAllowed is a rule runc appends after the spec's
// linux.resources.devices, and the node it is for ("" for none).
type defaultAllowed struct {
	path string
	rule specs.LinuxDeviceCgroup
}

// DefaultAllowedDevices are the device rules runc appends after the spec's
// linux.resources.devices: mknod of anything, and the standard devices
// every container gets (null, zero, full, random, urandom, tty, ptmx, the
// pts and tun devices). -1 is the wildcard.
var DefaultAllowedDevices = func() []specs.LinuxDeviceCgroup {
	var out []specs.LinuxDeviceCgroup
	for _, d := range defaultAllowedDevices {
		out = append(out, d.rule)
	}
	return out
}()

var defaultAllowedDevices = []defaultAllowed{
	{"", devRule("c", -1, -1, "m")},
	{"", devRule("b", -1, -1, "m")},
	{"/dev/null", devRule("c", 1, 3, "rwm")},
	{"/dev/random", devRule("c", 1, 8, "rwm")},
	{"/dev/full", devRule("c", 1, 7, "rwm")},
	{"/dev/tty", devRule("c", 5, 0, "rwm")},
	{"/dev/zero", devRule("c", 1, 5, "rwm")},
	{"/dev/urandom", devRule("c", 1, 9, "rwm")},
	{"", devRule("c", 136, -1, "rwm")}, // /dev/pts/*
	{"", devRule("c", 5, 2, "rwm")},    // /dev/ptmx
	{"", devRule("c", 10, 200, "rwm")}, // /dev/net/tun
}

// EffectiveResources is the resources a new container's cgroup gets: the
// spec's, with the device rules completed as runc does: the spec's rules,
// then the defaults, less those for a node linux.devices lists itself. A
// node in linux.devices is made in /dev, not allowed: only the rules say
// what the container may open. The spec is not modified.
func EffectiveResources(l *specs.Linux) *specs.LinuxResources {
	var r specs.LinuxResources
	if l != nil && l.Resources != nil {
		r = *l.Resources
	}
	listed := map[string]bool{}
	if l != nil {
		for _, d := range l.Devices {
			listed[d.Path] = true
		}
	}
	var devs []specs.LinuxDeviceCgroup
	for _, d := range r.Devices {
		a := normalAccess(d.Access)
		if d.Access != "" && a == "" {
			// No access it knows: an allow rule allows nothing, a
			// deny rule denies all.
			if d.Allow {
				continue
			}
			a = "rwm"
		}
		d.Access = a
		devs = append(devs, d)
	}
	for _, d := range defaultAllowedDevices {
		if d.path == "" || !listed[d.path] {
			devs = append(devs, d.rule)
		}
	}
	r.Devices = devs
	return &r
}

// normalAccess keeps the letters of a rule's access the device cgroup
// knows (r, w, m), in that order, as runc does: "rwa" is "rw". "" stays ""
// (every access).
func normalAccess(a string) string {
	if a == "" {
		return ""
	}
	out := ""
	for _, c := range "rwm" {
		if strings.ContainsRune(a, c) {
			out += string(c)
		}
	}
	return out
}
