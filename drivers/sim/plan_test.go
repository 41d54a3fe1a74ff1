package sim

import (
	"reflect"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/site"
)

func TestDemoPatrol(t *testing.T) {
	reader := site.Device{ID: "reader-1", Kind: event.KindPatrol, Driver: "mqtt"}
	pc := patrol.Config{
		Guards: []patrol.Guard{{ID: "g1", Cards: []string{"CARD-1", "CARD-2"}}},
		Routes: []patrol.Route{
			{ID: "day", Checkpoints: []patrol.Stop{{Checkpoint: "CP-9"}}},
			{ID: "night", Checkpoints: []patrol.Stop{{Checkpoint: "CP-1"}, {Checkpoint: "CP-2", Leg: 3 * time.Minute}, {Checkpoint: "CP-3"}}},
		},
		Plans: []patrol.Plan{{ID: "p1", Route: "night", Every: 10 * time.Minute}, {ID: "p2", Route: "day"}},
	}
	noCards := pc
	noCards.Guards = []patrol.Guard{{ID: "g1"}}
	tests := []struct {
		name    string
		devices []site.Device
		pc      patrol.Config
		want    PatrolPlan
	}{
		{name: "first plan's route with the first card", devices: []site.Device{{ID: "gate", Kind: event.KindPanic, Driver: "gpio"}, reader}, pc: pc,
			want: PatrolPlan{Reader: "reader-1", Card: "CARD-1", Checkpoints: []string{"CP-1", "CP-2", "CP-3"}, Every: 10 * time.Minute, Leg: 3 * time.Minute}},
		{name: "no MQTT reader", devices: []site.Device{{ID: "r", Kind: event.KindPatrol, Driver: "gpio"}}, pc: pc},
		{name: "no plans", devices: []site.Device{reader}, pc: patrol.Config{Guards: pc.Guards, Routes: pc.Routes}},
		{name: "no cards", devices: []site.Device{reader}, pc: noCards},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DemoPatrol(tt.devices, tt.pc); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DemoPatrol = %+v, want %+v", got, tt.want)
			}
		})
	}
}
