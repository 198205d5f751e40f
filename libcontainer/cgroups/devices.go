package cgroups

import specs "github.com/opencontainers/runtime-spec/specs-go"

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

// DefaultAllowedDevices are the device rules runc appends after the spec's
// linux.resources.devices: mknod of anything, and the standard devices
// every container gets (null, zero, full, random, urandom, tty, ptmx, the
// pts and tun devices). -1 is the wildcard.
var DefaultAllowedDevices = []specs.LinuxDeviceCgroup{
	devRule("c", -1, -1, "m"),
	devRule("b", -1, -1, "m"),
	devRule("c", 1, 3, "rwm"),    // /dev/null
	devRule("c", 1, 8, "rwm"),    // /dev/random
	devRule("c", 1, 7, "rwm"),    // /dev/full
	devRule("c", 5, 0, "rwm"),    // /dev/tty
	devRule("c", 1, 5, "rwm"),    // /dev/zero
	devRule("c", 1, 9, "rwm"),    // /dev/urandom
	devRule("c", 136, -1, "rwm"), // /dev/pts/*
	devRule("c", 5, 2, "rwm"),    // /dev/ptmx
	devRule("c", 10, 200, "rwm"), // /dev/net/tun
}

// EffectiveResources is the resources a new container's cgroup gets: the
// spec's, with the device rules completed as runc does (the spec's rules,
// then DefaultAllowedDevices, then an allow rule for each linux.devices
// entry). The spec is not modified.
func EffectiveResources(l *specs.Linux) *specs.LinuxResources {
	var r specs.LinuxResources
	if l != nil && l.Resources != nil {
		r = *l.Resources
	}
	devs := append([]specs.LinuxDeviceCgroup{}, r.Devices...)
	devs = append(devs, DefaultAllowedDevices...)
	if l != nil {
		for _, d := range l.Devices {
			typ := d.Type
			switch typ {
			case "p": // fifos need no rule
				continue
			case "u": // unbuffered character device
				typ = "c"
			}
			devs = append(devs, devRule(typ, d.Major, d.Minor, "rwm"))
		}
	}
	r.Devices = devs
	return &r
}
