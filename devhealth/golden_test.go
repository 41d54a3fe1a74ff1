package devhealth

import (
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestSnapshotGolden pins the JSON the health endpoint and console get.
func TestSnapshotGolden(t *testing.T) {
	tr := NewTracker(testDir(), t0)
	tr.Observe(ev("cam", "state", sec(5), event.Fields{"battery": 87.0, "supply_v": 12.1}))
	tr.Observe(ev("btn", "tamper", sec(6), event.Fields{"cause": "cut"}))
	tr.Check(sec(190))
	tr.Observe(ev("tag", "scan", sec(191), nil))
	got, err := json.MarshalIndent(struct {
		Devices []DeviceState `json:"devices"`
		Health  any           `json:"health"`
	}{tr.Snapshot(), tr.Health()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "snapshot.golden.json")
	testenv.Golden(t, path, got, *update)
}
