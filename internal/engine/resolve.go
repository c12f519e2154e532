package engine

import (
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// Resolution is what an input selects, before anything starts: the
// profile and config (or module) resolved, the options layered, and the
// checks a run would take. Prepare builds its plan from it, and
// `rtcprobe list` and `validate` show it, so what they say is what a run
// would do.
type Resolution struct {
	Resolved *checks.Resolved
	// Settings are the options in force: the profile's and config's
	// layers under the input's own.
	Settings config.Settings
	// Checks are the selected checks: the profile's or config's, narrowed
	// by the input's selection.
	Checks []*checks.Check
}

// Resolve resolves the input without starting anything. A module
// resolves as a profile of its own.
func Resolve(in Input) (*Resolution, error) {
	catalog := in.Catalog
	if catalog == nil {
		catalog = checks.Catalog()
	}
	cfg, profile := in.Config, in.Profile
	if in.Module != nil {
		cfg, profile = in.Module.Config(), in.Module.Name
	}
	res, err := checks.Resolve(catalog, cfg, profile)
	if err != nil {
		return nil, err
	}
	settings, err := config.Layered(append(res.Layers, in.Options)...)
	if err != nil {
		return nil, err
	}
	selected := res.Default()
	if len(in.Selection) > 0 {
		selected = intersect(checks.Select(catalog, in.Selection), res.Checks)
		if len(selected) == 0 {
			return nil, &SelectionError{Selection: in.Selection}
		}
	}
	return &Resolution{Resolved: res, Settings: settings, Checks: selected}, nil
}
