package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// A classic BPF interpreter for seccomp programs, so that the init can ask
// what a filter will answer for one of its own syscalls before it loads the
// filter (libcontainer's rlimits: prlimit64 after the filter, or before).
// It runs what the kernel accepts for seccomp (seccomp_check_filter): 32-bit
// absolute loads from struct seccomp_data, the scratch memory, ALU, jumps,
// TAX/TXA and returns.

// Call is one system call as the kernel shows it to a filter.
type Call struct {
	Nr   int32
	Arch uint32 // AUDIT_ARCH_*
	IP   uint64
	Args [6]uint64
}

// bytes lays c out as struct seccomp_data (64 bytes, native byte order).
func (c *Call) bytes() []byte {
	b := make([]byte, 64)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(c.Nr))
	ne.PutUint32(b[4:], c.Arch)
	ne.PutUint64(b[8:], c.IP)
	for i, a := range c.Args {
		ne.PutUint64(b[16+8*i:], a)
	}
	return b
}

// Run returns the value prog returns for c (SECCOMP_RET_*), or an error
// for a program the kernel would not have accepted.
func Run(prog []unix.SockFilter, c *Call) (uint32, error) {
	data := c.bytes()
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		k := in.K
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if k%4 != 0 || k > uint32(len(data))-4 {
				return 0, fmt.Errorf("seccomp: load at %d outside seccomp_data", k)
			}
			a = binary.NativeEndian.Uint32(data[k:])
		case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN:
			a = uint32(len(data))
		case unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN:
			x = uint32(len(data))
		case unix.BPF_LD | unix.BPF_IMM:
			a = k
		case unix.BPF_LDX | unix.BPF_IMM:
			x = k
		case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM, unix.BPF_ST, unix.BPF_STX:
			if k >= uint32(len(mem)) {
				return 0, fmt.Errorf("seccomp: scratch slot %d", k)
			}
			switch in.Code {
			case unix.BPF_LD | unix.BPF_MEM:
				a = mem[k]
			case unix.BPF_LDX | unix.BPF_MEM:
				x = mem[k]
			case unix.BPF_ST:
				mem[k] = a
			default:
				mem[k] = x
			}
		case unix.BPF_MISC | unix.BPF_TAX:
			x = a
		case unix.BPF_MISC | unix.BPF_TXA:
			a = x
		case unix.BPF_RET | unix.BPF_K:
			return k, nil
		case unix.BPF_RET | unix.BPF_A:
			return a, nil
		default:
			switch in.Code & 0x07 {
			case unix.BPF_ALU:
				v := k
				if in.Code&unix.BPF_X != 0 {
					v = x
				}
				var err error
				if a, err = alu(in.Code&0xf0, a, v); err != nil {
					return 0, err
				}
			case unix.BPF_JMP:
				next, err := jump(in, a, x)
				if err != nil {
					return 0, err
				}
				pc += next
			default:
				return 0, fmt.Errorf("seccomp: instruction %#x not allowed in a filter", in.Code)
			}
		}
	}
	return 0, errors.New("seccomp: program ends without a return")
}

func alu(op uint16, a, v uint32) (uint32, error) {
	switch op {
	case unix.BPF_ADD:
		return a + v, nil
	case unix.BPF_SUB:
		return a - v, nil
	case unix.BPF_MUL:
		return a * v, nil
	case unix.BPF_DIV, unix.BPF_MOD:
		if v == 0 {
			return 0, errors.New("seccomp: division by zero")
		}
		if op == unix.BPF_DIV {
			return a / v, nil
		}
		return a % v, nil
	case unix.BPF_OR:
		return a | v, nil
	case unix.BPF_AND:
		return a & v, nil
	case unix.BPF_XOR:
		return a ^ v, nil
	case unix.BPF_LSH:
		return a << (v & 31), nil
	case unix.BPF_RSH:
		return a >> (v & 31), nil
	case unix.BPF_NEG:
		return -a, nil
	}
	return 0, fmt.Errorf("seccomp: ALU op %#x", op)
}

// jump returns how many instructions to skip.
func jump(in unix.SockFilter, a, x uint32) (int, error) {
	if in.Code&0xf0 == unix.BPF_JA {
		return int(in.K), nil
	}
	v := in.K
	if in.Code&unix.BPF_X != 0 {
		v = x
	}
	var cond bool
	switch in.Code & 0xf0 {
	case unix.BPF_JEQ:
		cond = a == v
	case unix.BPF_JGT:
		cond = a > v
	case unix.BPF_JGE:
		cond = a >= v
	case unix.BPF_JSET:
		cond = a&v != 0
	default:
		return 0, fmt.Errorf("seccomp: jump %#x", in.Code)
	}
	if cond {
		return int(in.Jt), nil
	}
	return int(in.Jf), nil
}

// Allows reports whether prog lets c through: it returns ALLOW or LOG. Any
// other answer (an errno, a kill, a trap, a trace or the notify agent), or
// a program it cannot run, is a no.
func Allows(prog []unix.SockFilter, c *Call) bool {
	ret, err := Run(prog, c)
	if err != nil {
		return false
	}
	act := ret & unix.SECCOMP_RET_ACTION_FULL
	return act == unix.SECCOMP_RET_ALLOW || act == unix.SECCOMP_RET_LOG
}

// NativeArch is the AUDIT_ARCH_* value of this process's syscalls.
func NativeArch() (uint32, error) {
	arch, err := libseccomp.GetNativeArch()
	if err != nil {
		return 0, fmt.Errorf("seccomp: native arch: %w", err)
	}
	a, ok := auditArch[arch]
	if !ok {
		return 0, fmt.Errorf("seccomp: no audit value for %s", arch)
	}
	return a, nil
}
