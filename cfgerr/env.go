package cfgerr

// Env is what every config section's SetDefaults may derive its defaults from. It is
// defined here, beside the errors every section already reports, so a component's
// config needs no import of the config loader.
type Env struct {
	// SiteID is site.id ("s01"): part of default client ids.
	SiteID string
	// StateDir is the daemon's state directory (state_dir); stores and spools default
	// to directories under it. "" leaves those defaults unset.
	StateDir string
}
