package validate

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0-3,7": {0, 1, 2, 3, 7}, "3,1-2,1": {1, 2, 3}, " 1 , 0": {0, 1}} {
		got, err := ParseList(in, 16)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "1-", "-1", "3-1", "1,,2", "16", "0-16", "1-2-3"} {
		if got, err := ParseList(in, 16); err == nil {
			t.Errorf("%q: accepted as %v", in, got)
		}
	}
}

func TestProcess13(t *testing.T) {
	proc := func(mod func(*specs.Process)) *specs.Process {
		p := &specs.Process{Args: []string{"sh"}, Cwd: "/"}
		mod(p)
		return p
	}
	good := map[string]func(*specs.Process){
		"batch nice": func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5} },
		"idle":       func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedIdle} },
		"fifo":       func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 99} },
		"rr flags": func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 1, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
		},
		"deadline": func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 2e6, Period: 3e6}
		},
		"deadline p0": func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e6}
		},
		"ioprio rt": func(p *specs.Process) {
			p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 7}
		},
		"ioprio idle": func(p *specs.Process) { p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE} },
		"affinity":    func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-1", Final: "1"} },
		"final only":  func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Final: "0,1"} },
	}
	for name, mod := range good {
		if err := Process(proc(mod)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]func(*specs.Process){
		"process.scheduler: unknown policy": func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: "SCHED_X"} },
		"SCHED_ISO is not implemented":      func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedISO} },
		"unknown flag": func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"X"}}
		},
		"nice 20 is not in -20..19":                   func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20} },
		"SCHED_FIFO needs a priority in 1..99, not 0": func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO} },
		"SCHED_RR needs a priority in 1..99, not 100": func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 100} },
		"priority 3 is only for SCHED_FIFO":           func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Priority: 3} },
		"SCHED_DEADLINE needs 0 < runtime": func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 3, Deadline: 2}
		},
		"only for SCHED_DEADLINE":           func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Period: 5} },
		"process.ioPriority: unknown class": func(p *specs.Process) { p.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"} },
		"process.ioPriority: priority 8 is not in 0..7": func(p *specs.Process) {
			p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		},
		"process.execCPUAffinity.final: invalid list":   func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Final: "x"} },
		"process.execCPUAffinity.initial: invalid list": func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "2-1"} },
	}
	for want, mod := range bad {
		err := Process(proc(mod))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error with %q, got %v", want, err)
		}
	}
}

func TestLinux13(t *testing.T) {
	netns := map[specs.LinuxNamespaceType]bool{specs.NetworkNamespace: true}
	good := []*specs.Linux{
		{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}},
		{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0-3,7", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}},
		{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}}},
		{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred}},
		{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}},
		{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolLocal}},
		{Personality: &specs.LinuxPersonality{Domain: specs.PerLinux32}},
		{NetDevices: map[string]specs.LinuxNetDevice{"eth0": {}, "dummy1": {Name: "ctr%d"}, "dummy2": {Name: "ctr%d"}}},
	}
	for i, l := range good {
		if err := linux13(l, netns); err != nil {
			t.Errorf("good[%d]: %v", i, err)
		}
	}
	// Every mode in the table is accepted with the nodes it needs.
	for mode := range MemoryPolicyModes {
		mp := &specs.LinuxMemoryPolicy{Mode: mode, Nodes: "0"}
		if mode == specs.MpolDefault || mode == specs.MpolLocal {
			mp.Nodes = ""
		}
		if err := linux13(&specs.Linux{MemoryPolicy: mp}, nil); err != nil {
			t.Errorf("mode %s: %v", mode, err)
		}
	}
	bad := map[string]*specs.Linux{
		"linux.memoryPolicy: invalid memory policy mode": {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: "MPOL_X"}},
		"MPOL_BIND needs nodes":                          {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind}},
		"MPOL_DEFAULT mode requires 0 nodes but got 1":   {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0"}},
		"MPOL_LOCAL takes no flags":                      {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolLocal, Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}},
		"nodes \"zero\": invalid list":                   {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "zero"}},
		"exclude each other":                             {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes, specs.MpolFRelativeNodes}}},
		"MPOL_F_NUMA_BALANCING is only":                  {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}}},
		"invalid memory policy flag":                     {MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_X"}}},
		"linux.personality: unknown domain":              {Personality: &specs.LinuxPersonality{Domain: "LINUX64"}},
		"linux.personality: unknown flag":                {Personality: &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"X"}}},
		"invalid interface name \"a/b\"":                 {NetDevices: map[string]specs.LinuxNetDevice{"a/b": {}}},
		"must have 1 to 15 bytes":                        {NetDevices: map[string]specs.LinuxNetDevice{"eth0": {Name: "a23456789012345x"}}},
		"invalid interface name \"eth%d\"":               {NetDevices: map[string]specs.LinuxNetDevice{"eth%d": {}}},
		"invalid interface name \"..\"":                  {NetDevices: map[string]specs.LinuxNetDevice{"eth0": {Name: ".."}}},
		"invalid interface name \"c%s\"":                 {NetDevices: map[string]specs.LinuxNetDevice{"eth0": {Name: "c%s"}}},
		"both become ctr0":                               {NetDevices: map[string]specs.LinuxNetDevice{"eth0": {Name: "ctr0"}, "eth1": {Name: "ctr0"}}},
	}
	for want, l := range bad {
		err := linux13(l, netns)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error with %q, got %v", want, err)
		}
	}
	err := linux13(&specs.Linux{NetDevices: map[string]specs.LinuxNetDevice{"eth0": {}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "linux.netDevices needs a network namespace") {
		t.Errorf("netDevices without a network namespace: %v", err)
	}
}
