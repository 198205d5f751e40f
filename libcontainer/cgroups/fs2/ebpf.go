package fs2

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// A tiny eBPF assembler: just the instructions the device filter needs.
// Encoding per include/uapi/linux/bpf.h (struct bpf_insn), little endian.

// insn is one eBPF instruction.
type insn struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
}

// eBPF opcodes used (class | op | source).
const (
	opLdxMemW  = 0x61 // BPF_LDX | BPF_MEM | BPF_W:   dst = *(u32 *)(src + off)
	opAnd32Imm = 0x54 // BPF_ALU | BPF_AND | BPF_K:   dst &= imm (32-bit)
	opRsh32Imm = 0x74 // BPF_ALU | BPF_RSH | BPF_K:   dst >>= imm (32-bit)
	opMov32Imm = 0xb4 // BPF_ALU | BPF_MOV | BPF_K:   dst = imm (32-bit)
	opMov32Reg = 0xbc // BPF_ALU | BPF_MOV | BPF_X:   dst = src (32-bit)
	opJeqImm   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K:   if dst == imm goto pc+off
	opJneImm   = 0x55 // BPF_JMP | BPF_JNE | BPF_K:   if dst != imm goto pc+off
	opJneReg   = 0x5d // BPF_JMP | BPF_JNE | BPF_X:   if dst != src goto pc+off
	opExit     = 0x95 // BPF_JMP | BPF_EXIT
)

var opNames = map[uint8]string{
	opLdxMemW: "ldxw", opAnd32Imm: "and32", opRsh32Imm: "rsh32", opMov32Imm: "mov32",
	opMov32Reg: "mov32", opJeqImm: "jeq", opJneImm: "jne", opJneReg: "jne", opExit: "exit",
}

// String renders the instruction in a compact, readable assembly form
// (what the generator's unit tests compare against).
func (i insn) String() string {
	n := opNames[i.op]
	switch i.op {
	case opLdxMemW:
		return fmt.Sprintf("%s r%d, [r%d%+d]", n, i.dst, i.src, i.off)
	case opAnd32Imm, opRsh32Imm, opMov32Imm:
		return fmt.Sprintf("%s r%d, %d", n, i.dst, i.imm)
	case opMov32Reg:
		return fmt.Sprintf("%s r%d, r%d", n, i.dst, i.src)
	case opJeqImm, opJneImm:
		return fmt.Sprintf("%s r%d, %d, %+d", n, i.dst, i.imm, i.off)
	case opJneReg:
		return fmt.Sprintf("%s r%d, r%d, %+d", n, i.dst, i.src, i.off)
	case opExit:
		return n
	}
	return fmt.Sprintf("op%#x r%d, r%d, %d, %d", i.op, i.dst, i.src, i.off, i.imm)
}

type program []insn

func (p program) String() string {
	var b strings.Builder
	for n, i := range p {
		fmt.Fprintf(&b, "%d: %s\n", n, i)
	}
	return b.String()
}

// encode returns the kernel's wire form: 8 bytes per instruction.
func (p program) encode() []byte {
	b := make([]byte, 8*len(p))
	for n, i := range p {
		o := b[8*n:]
		o[0] = i.op
		o[1] = i.dst&0xf | i.src<<4
		binary.LittleEndian.PutUint16(o[2:], uint16(i.off))
		binary.LittleEndian.PutUint32(o[4:], uint32(i.imm))
	}
	return b
}

// asm builds a program; jumps name a label resolved at the end.
type asm struct {
	p      program
	labels map[string]int
	fixups map[int]string // instruction index -> label
}

func newAsm() *asm { return &asm{labels: map[string]int{}, fixups: map[int]string{}} }

func (a *asm) emit(i insn) { a.p = append(a.p, i) }

func (a *asm) jump(op, dst, src uint8, imm int32, label string) {
	a.fixups[len(a.p)] = label
	a.emit(insn{op: op, dst: dst, src: src, imm: imm})
}

func (a *asm) label(l string) { a.labels[l] = len(a.p) }

func (a *asm) assemble() (program, error) {
	for at, l := range a.fixups {
		to, ok := a.labels[l]
		if !ok {
			return nil, fmt.Errorf("ebpf: undefined label %q", l)
		}
		a.p[at].off = int16(to - at - 1) // relative to the next instruction
	}
	return a.p, nil
}
