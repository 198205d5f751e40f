package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "update a container's resource limits",
	ArgsUsage: "<container-id>",
	Description: `Changes the cgroup limits of a running (or created, or paused) container.
Limits come from the flags or, with --resources, from a JSON file (or
stdin, "-") in the form of the spec's linux.resources:

   {
     "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
     "cpu": {"shares": 0, "quota": 0, "period": 0, "burst": 0, "idle": 0,
             "realtimeRuntime": 0, "realtimePeriod": 0, "cpus": "", "mems": ""},
     "blockIO": {"weight": 0},
     "pids": {"limit": 0},
     "unified": {"memory.high": "..."},
     "devices": [...]
   }

A value left out (or 0) is left as it is. Memory sizes take a unit suffix
(k, m, g, ...); -1 means unlimited. "devices" replaces the container's
device rules (runc's defaults are added as at create); on cgroup v2 the
eBPF program is swapped atomically.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "path to a file with the resources to update, or '-' for stdin"},
		&cli.UintFlag{Name: "blkio-weight", Usage: "per cgroup block IO weight, 10 to 1000"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period (in usecs) for hard capping; 0 for the default"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS hard cap (in usecs): allowed CPU time per period"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst (in usecs): CPU time a period may borrow from unused quota"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "1: the container's CPU share is SCHED_IDLE's (lowest), 0: normal"},
		&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight against other containers)"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period (in usecs); 0 for the default"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime hard cap (in usecs): allowed realtime time per period"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to use (0-3, 0,1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use (0-3, 0,1)"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "obsolete; ignored"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "obsolete; ignored"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (in bytes, or with a unit: 512m)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory reservation, the soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "total memory use (memory + swap); -1 for unlimited swap"},
		&cli.IntFlag{Name: "pids-limit", Usage: "maximum number of pids in the container"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT/CAT L3 cache schema"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT/MBA memory bandwidth schema"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		r, err := updateResources(c)
		if err != nil {
			return err
		}
		if err := checkRdtFlags(c); err != nil {
			return err
		}
		ct, err := libcontainer.Load(root(c), id)
		if err != nil {
			return err
		}
		defer ct.Close()
		return ct.Update(r)
	},
}

// updateResources builds the resources to change from --resources or the
// flags; fields not given stay nil.
func updateResources(c *cli.Context) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if in := c.String("resources"); in != "" {
		f := os.Stdin
		if in != "-" {
			var err error
			if f, err = os.Open(in); err != nil {
				return nil, err
			}
			defer f.Close()
		}
		if err := json.NewDecoder(f).Decode(r); err != nil {
			return nil, fmt.Errorf("decode resources: %w", err)
		}
	} else {
		mem := &specs.LinuxMemory{}
		cpu := &specs.LinuxCPU{}
		if v := c.Uint("blkio-weight"); v != 0 {
			if v > 65535 {
				return nil, fmt.Errorf("invalid value for blkio-weight: %d", v)
			}
			w := uint16(v)
			r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
		}
		cpu.Cpus, cpu.Mems = c.String("cpuset-cpus"), c.String("cpuset-mems")
		if s := c.String("cpu-idle"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid value for cpu-idle: %w", err)
			}
			cpu.Idle = &v
		}
		for _, p := range []struct {
			opt string
			dst **uint64
		}{{"cpu-period", &cpu.Period}, {"cpu-rt-period", &cpu.RealtimePeriod}, {"cpu-share", &cpu.Shares}, {"cpu-burst", &cpu.Burst}} {
			if s := c.String(p.opt); s != "" {
				v, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("invalid value for %s: %w", p.opt, err)
				}
				*p.dst = &v
			}
		}
		for _, p := range []struct {
			opt string
			dst **int64
		}{{"cpu-quota", &cpu.Quota}, {"cpu-rt-runtime", &cpu.RealtimeRuntime}} {
			if s := c.String(p.opt); s != "" {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("invalid value for %s: %w", p.opt, err)
				}
				*p.dst = &v
			}
		}
		for _, p := range []struct {
			opt string
			dst **int64
		}{{"memory", &mem.Limit}, {"memory-swap", &mem.Swap}, {"kernel-memory", &mem.Kernel},
			{"kernel-memory-tcp", &mem.KernelTCP}, {"memory-reservation", &mem.Reservation}} {
			if s := c.String(p.opt); s != "" {
				v := int64(-1)
				if s != "-1" {
					var err error
					if v, err = ramInBytes(s); err != nil {
						return nil, fmt.Errorf("invalid value for %s: %w", p.opt, err)
					}
				}
				*p.dst = &v
			}
		}
		// Given is given, 0 too (the drivers make it 1, as runc's do).
		if c.IsSet("pids-limit") {
			v := int64(c.Int("pids-limit"))
			r.Pids = &specs.LinuxPids{Limit: &v}
		}
		if *mem != (specs.LinuxMemory{}) {
			r.Memory = mem
		}
		if *cpu != (specs.LinuxCPU{}) {
			r.CPU = cpu
		}
	}
	if m := r.Memory; m != nil && ((m.Kernel != nil && *m.Kernel != 0) || (m.KernelTCP != nil && *m.KernelTCP != 0)) {
		slog.Warn("kernel memory settings are ignored and will be removed")
		m.Kernel, m.KernelTCP = nil, nil
	}
	return r, nil
}

// checkRdtFlags: teu does not manage Intel RDT (resctrl). As runc, it says
// so when the host has no RDT; where it has, it says teu cannot do it.
func checkRdtFlags(c *cli.Context) error {
	l3, mba := c.String("l3-cache-schema"), c.String("mem-bw-schema")
	if l3 == "" && mba == "" {
		return nil
	}
	_, err := os.Stat("/sys/fs/resctrl/info")
	if err != nil {
		if l3 != "" {
			return errors.New("Intel RDT/CAT: l3 cache schema is not enabled")
		}
		return errors.New("Intel RDT/MBA: memory bandwidth schema is not enabled")
	}
	return errors.New("Intel RDT (resctrl) schemas are not supported by teu")
}

// ramRE is compiled when update needs it, not at every start of teu.
var ramRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)
})

// ramInBytes parses a size with an optional binary unit ("512m", "1.5GiB",
// "64k", "1024"), as docker's go-units RAMInBytes does for runc.
func ramInBytes(s string) (int64, error) {
	m := ramRE().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[strings.ToLower(m[2])]
	return int64(f * mult), nil
}
