package fs2

import (
	"encoding/hex"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func i64(v int64) *int64 { return &v }

func dev(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major >= 0 {
		d.Major = i64(major)
	}
	if minor >= 0 {
		d.Minor = i64(minor)
	}
	return d
}

const prologue = `0: ldxw r2, [r1+0]
1: and32 r2, 65535
2: ldxw r3, [r1+0]
3: rsh32 r3, 16
4: ldxw r4, [r1+4]
5: ldxw r5, [r1+8]
`

func TestDeviceFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  string // after the prologue
	}{
		{"no rules: v1 default allow", nil, `
6: mov32 r0, 1
7: exit`},
		{"deny all", []specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm")}, `
6: mov32 r0, 0
7: exit`},
		{"deny all, allow some (a typical container)", []specs.LinuxDeviceCgroup{
			dev(false, "", -1, -1, ""), // type and access default to a and rwm
			dev(true, "c", -1, -1, "m"),
			dev(true, "c", 1, 3, "rwm"),
			dev(true, "c", 136, -1, "rw"),
		}, `
6: jne r2, 2, +5
7: mov32 r1, r3
8: and32 r1, 1
9: jne r1, r3, +2
10: mov32 r0, 1
11: exit
12: jne r2, 2, +4
13: jne r4, 1, +3
14: jne r5, 3, +2
15: mov32 r0, 1
16: exit
17: jne r2, 2, +6
18: jne r4, 136, +5
19: mov32 r1, r3
20: and32 r1, 6
21: jne r1, r3, +2
22: mov32 r0, 1
23: exit
24: mov32 r0, 0
25: exit`},
		{"allow all except a block device, partial access", []specs.LinuxDeviceCgroup{
			dev(true, "a", -1, -1, "rwm"),
			dev(false, "b", 8, 0, "w"),
		}, `
6: jne r2, 1, +7
7: jne r4, 8, +6
8: jne r5, 0, +5
9: mov32 r1, r3
10: and32 r1, 4
11: jeq r1, 0, +2
12: mov32 r0, 0
13: exit
14: mov32 r0, 1
15: exit`},
		{"a wildcard reset drops earlier rules", []specs.LinuxDeviceCgroup{
			dev(false, "b", 8, 1, "rwm"),
			dev(true, "a", -1, -1, "rwm"),
			dev(false, "b", 8, 2, "rwm"),
		}, `
6: jne r2, 1, +4
7: jne r4, 8, +3
8: jne r5, 2, +2
9: mov32 r0, 0
10: exit
11: mov32 r0, 1
12: exit`},
		{"same device rules merge and narrow", []specs.LinuxDeviceCgroup{
			dev(false, "a", -1, -1, "rwm"),
			dev(true, "c", 1, 3, "r"),
			dev(true, "c", 1, 3, "wm"),
			dev(false, "c", 1, 3, "m"), // leaves rw
			dev(true, "c", 1, 5, "r"),
			dev(false, "c", 1, 5, "r"), // removes the exception
		}, `
6: jne r2, 2, +7
7: jne r4, 1, +6
8: jne r5, 3, +5
9: mov32 r1, r3
10: and32 r1, 6
11: jne r1, r3, +2
12: mov32 r0, 1
13: exit
14: mov32 r0, 0
15: exit`},
		{"type a with a number matches both types", []specs.LinuxDeviceCgroup{
			dev(false, "a", -1, -1, "rwm"),
			dev(true, "a", 7, -1, "rwm"),
		}, `
6: jne r4, 7, +2
7: mov32 r0, 1
8: exit
9: mov32 r0, 0
10: exit`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := deviceFilter(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			want := prologue + strings.TrimPrefix(tc.want, "\n") + "\n"
			if got := p.String(); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			if devicesSupported() {
				// The kernel's verifier must accept it (no attach here).
				fd, err := loadProgram(p)
				if err != nil {
					t.Fatalf("kernel rejected the program: %v", err)
				}
				unix.Close(fd)
			}
		})
	}
}

func TestDeviceFilterErrors(t *testing.T) {
	for _, d := range []specs.LinuxDeviceCgroup{
		dev(true, "p", -1, -1, "rwm"),
		dev(true, "c", 1, 3, "rx"),
		dev(true, "c", 1<<40, 3, "r"),
	} {
		if _, err := deviceFilter([]specs.LinuxDeviceCgroup{d}); err == nil {
			t.Errorf("%+v: no error", d)
		}
	}
}

func TestEncode(t *testing.T) {
	p := program{
		{op: opLdxMemW, dst: 2, src: 1, off: 4},
		{op: opJneImm, dst: 4, off: -2, imm: 136},
		{op: opMov32Imm, dst: 0, imm: 1},
		{op: opExit},
	}
	want := "6112040000000000" + "5504feff88000000" + "b400000001000000" + "9500000000000000"
	if got := hex.EncodeToString(p.encode()); got != want {
		t.Errorf("encode = %s, want %s", got, want)
	}
}
