package console

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/site"
)

// maxPlan bounds a plan image the console serves.
const maxPlan = 8 << 20

// siteInfo is GET /api/site: what the floor plan, the cards and the takeover need to
// name places and people in the operator's words.
type siteInfo struct {
	Name      string            `json:"name,omitempty"`
	Plan      string            `json:"plan,omitempty"` // URL of the campus plan image
	Buildings []buildingInfo    `json:"buildings"`
	Zones     []zoneInfo        `json:"zones"`
	Devices   []deviceInfo      `json:"devices"`
	People    map[string]string `json:"people"` // account or kiosk name → display name
}

type buildingInfo struct {
	ID     string      `json:"id"`
	Name   string      `json:"name,omitempty"`
	Floors []floorInfo `json:"floors"`
}

type floorInfo struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Plan string `json:"plan,omitempty"` // URL of the plan image ("" = schematic)
}

type zoneInfo struct {
	ID       string         `json:"id"`
	Name     string         `json:"name,omitempty"`
	Building string         `json:"building,omitempty"`
	Contacts []site.Contact `json:"contacts"`
}

type deviceInfo struct {
	ID       string         `json:"id"`
	Name     string         `json:"name,omitempty"`
	Kind     string         `json:"kind"`
	Zone     string         `json:"zone,omitempty"`
	Location string         `json:"location,omitempty"`
	Building string         `json:"building,omitempty"`
	Floor    string         `json:"floor,omitempty"`
	Position *site.Position `json:"position,omitempty"`
}

func (c *Console) apiSite(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	writeJSON(w, http.StatusOK, c.siteInfo())
}

func (c *Console) siteInfo() siteInfo {
	out := siteInfo{Name: c.site, Buildings: []buildingInfo{}, Zones: []zoneInfo{}, Devices: []deviceInfo{}, People: c.people()}
	st := c.siteModel()
	if st == nil {
		return out
	}
	if c.planReadable(st.Plan) {
		out.Plan = "/api/plans/site"
	}
	for _, b := range st.Buildings {
		bi := buildingInfo{ID: b.ID, Name: b.Name, Floors: []floorInfo{}}
		for _, f := range b.Floors {
			fi := floorInfo{ID: f.ID, Name: f.Name}
			if c.planReadable(f.Plan) {
				fi.Plan = "/api/plans/" + b.ID + "/" + f.ID
			}
			bi.Floors = append(bi.Floors, fi)
		}
		out.Buildings = append(out.Buildings, bi)
	}
	for _, z := range st.Zones {
		zi := zoneInfo{ID: z.ID, Name: z.Name, Building: z.Building, Contacts: z.Contacts}
		if zi.Contacts == nil {
			zi.Contacts = []site.Contact{}
		}
		out.Zones = append(out.Zones, zi)
	}
	devs := st.Devices() // the config's devices, checked against this site
	if devs == nil {
		devs = c.deps.Directory.Devices()
	}
	for _, d := range devs {
		out.Devices = append(out.Devices, deviceInfo{ID: d.ID, Name: d.Name, Kind: string(d.Kind), Zone: d.Zone,
			Location: d.Location, Building: st.BuildingOf(&d), Floor: d.Floor, Position: d.Position})
	}
	return out
}

// people maps account and kiosk names to display names.
func (c *Console) people() map[string]string {
	cfg := c.config()
	out := make(map[string]string, len(cfg.Users)+len(cfg.Kiosks))
	for _, u := range cfg.Users {
		if u.DisplayName != "" {
			out[u.Name] = u.DisplayName
		}
	}
	for _, k := range cfg.Kiosks {
		if k.DisplayName != "" {
			out[k.Name] = k.DisplayName
		}
	}
	return out
}

// planReadable reports whether p names a plan image the console can serve.
func (c *Console) planReadable(p string) bool {
	fsys := c.configFS()
	if p == "" || fsys == nil {
		return false
	}
	st, err := fs.Stat(fsys, cleanPlan(p))
	return err == nil && !st.IsDir() && st.Size() <= maxPlan
}

func cleanPlan(p string) string {
	return strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(p, "\\", "/")), "/")
}

// apiPlan serves a plan image: /api/plans/site, /api/plans/{building}/{floor}. SVG
// is served with a policy that runs nothing in it.
func (c *Console) apiPlan(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	st, fsys := c.siteModel(), c.configFS()
	if st == nil || fsys == nil {
		apiError(w, http.StatusNotFound, "not_found", "no plan")
		return
	}
	var p string
	if b := r.PathValue("building"); b == "" {
		p = st.Plan
	} else if bl := st.Building(b); bl != nil {
		if f := bl.Floor(r.PathValue("floor")); f != nil {
			p = f.Plan
		}
	}
	if p == "" || !c.planReadable(p) {
		apiError(w, http.StatusNotFound, "not_found", "no plan")
		return
	}
	b, err := fs.ReadFile(fsys, cleanPlan(p))
	if err != nil {
		c.log.Warn("console: plan image unreadable", "plan", p, "err", err)
		apiError(w, http.StatusNotFound, "not_found", "no plan")
		return
	}
	ct := "image/png"
	if strings.EqualFold(path.Ext(p), ".svg") {
		ct = "image/svg+xml"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	h.Set("Cache-Control", "private, max-age=300")
	_, _ = w.Write(b)
}

// configFSBox holds the config directory (an fs.FS in a fixed type for atomic.Value).
type configFSBox struct{ fs.FS }

func (c *Console) configFS() fs.FS {
	if b, ok := c.cfgFS.Load().(configFSBox); ok {
		return b.FS
	}
	return nil
}

// SetConfigFS sets the config directory plan images are read from (Options.ConfigFS).
func (c *Console) SetConfigFS(fsys fs.FS) { c.cfgFS.Store(configFSBox{fsys}) }

// siteModel is the campus the console names places from (Deps.Site, then SetSite).
func (c *Console) siteModel() *site.Site { return c.siteP.Load() }

// SetSite takes the site of a reloaded config: zone names, buildings, floors, plans,
// contacts and device positions change at once.
func (c *Console) SetSite(s *site.Site) { c.siteP.Store(s) }
