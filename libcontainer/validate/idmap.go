package validate

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// idmapMount checks an idmapped mount (idmap/ridmap, or mappings of its
// own) against runtime-spec's rules: a bind mount, uid and gid mappings
// together, and without them a user namespace whose mappings it borrows.
func idmapMount(m *specs.Mount, l *specs.Linux) error {
	opt, bind := false, m.Type == "bind"
	for _, o := range m.Options {
		switch o {
		case "idmap", "ridmap":
			opt = true
		case "bind", "rbind":
			bind = true
		}
	}
	own := len(m.UIDMappings)+len(m.GIDMappings) > 0
	if !opt && !own {
		return nil
	}
	if !bind {
		return errors.New("idmapped mounts are only supported for bind mounts")
	}
	if own && (len(m.UIDMappings) == 0 || len(m.GIDMappings) == 0) {
		return errors.New("uidMappings and gidMappings must be given together")
	}
	if own {
		return nil
	}
	for _, n := range l.Namespaces {
		if n.Type == specs.UserNamespace && (n.Path != "" || len(l.UIDMappings) > 0) {
			return nil
		}
	}
	return errors.New("idmap without uidMappings and gidMappings needs a user namespace (its mappings are used)")
}
