package systemd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// defaultSlice holds a container whose cgroupsPath names no slice.
const defaultSlice = "system.slice"

// defaultPrefix names the scope of a container with no cgroupsPath:
// teu-<id>.scope.
const defaultPrefix = "teu"

// Unit is where a container's scope goes.
type Unit struct {
	Slice string // "system.slice"
	Name  string // "teu-<id>.scope"
}

// CgroupPath is the scope's cgroup from the hierarchy's root: the slice's
// nested cgroups, then the scope ("/a.slice/a-b.slice/teu-x.scope").
func (u Unit) CgroupPath() (string, error) {
	p, err := ExpandSlice(u.Slice)
	if err != nil {
		return "", err
	}
	return filepath.Join(p, u.Name), nil
}

// ParsePath reads a cgroupsPath as runc does with --systemd-cgroup:
// "slice:prefix:name" is the scope "prefix-name.scope" (or "name.scope"
// without a prefix) in slice (system.slice when empty); an empty path is
// teu-<id>.scope in system.slice.
func ParsePath(cgroupsPath, id string) (Unit, error) {
	if cgroupsPath == "" {
		if id == "" {
			return Unit{}, errors.New("neither cgroupsPath nor a container id")
		}
		cgroupsPath = ":" + defaultPrefix + ":" + id
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return Unit{}, fmt.Errorf("cgroupsPath %q: want \"slice:prefix:name\" with --systemd-cgroup", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = defaultSlice
	}
	if _, err := ExpandSlice(slice); err != nil {
		return Unit{}, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
	}
	if name == "" {
		return Unit{}, fmt.Errorf("cgroupsPath %q: the name part is empty", cgroupsPath)
	}
	if strings.HasSuffix(name, ".slice") {
		return Unit{}, fmt.Errorf("cgroupsPath %q: a slice as the container's own unit is not supported", cgroupsPath)
	}
	unit := name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	if err := validUnitName(unit); err != nil {
		return Unit{}, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
	}
	return Unit{Slice: slice, Name: unit}, nil
}

// ExpandSlice turns a slice name into its cgroup path: systemd nests
// "a-b-c.slice" as /a.slice/a-b.slice/a-b-c.slice; "-.slice" is the root.
func ExpandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return "", fmt.Errorf("slice %q: not a slice unit name (want NAME.slice)", slice)
	}
	if base == "-" {
		return "/", nil
	}
	if err := validUnitName(slice); err != nil {
		return "", err
	}
	if strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("slice %q: a dash may only separate two names", slice)
	}
	var p, prefix string
	for _, part := range strings.Split(base, "-") {
		if prefix != "" {
			prefix += "-"
		}
		prefix += part
		p += "/" + prefix + ".slice"
	}
	return p, nil
}

// validUnitName checks what systemd accepts in a unit name: letters,
// digits and ":_.\-@", at most 255 bytes. No "/" is the part that
// matters here: the name becomes a cgroup directory.
func validUnitName(n string) error {
	if len(n) > 255 {
		return fmt.Errorf("unit name %q is longer than 255 bytes", n)
	}
	for _, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(":_.\\-@", c):
		default:
			return fmt.Errorf("unit name %q: character %q is not allowed by systemd", n, c)
		}
	}
	return nil
}

// unitFromPaths recovers the scope's name from the cgroup directories a
// Manager recorded: the last element of each is the unit.
func unitFromPaths(paths map[string]string) (string, error) {
	name := ""
	for _, k := range []string{"", "name=systemd", "memory", "pids"} {
		if p := paths[k]; p != "" {
			name = filepath.Base(p)
			break
		}
	}
	if name == "" {
		for _, p := range paths {
			name = filepath.Base(p)
			break
		}
	}
	if !strings.HasSuffix(name, ".scope") {
		return "", fmt.Errorf("cgroup paths %v do not end in a systemd scope", paths)
	}
	return name, nil
}
