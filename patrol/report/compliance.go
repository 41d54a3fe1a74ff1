package report

import (
	"fmt"
	"sort"

	"github.com/campusguard/campusguard/patrol"
)

// ViewCompliance is the CSV view of the key areas' compliance.
const ViewCompliance = "compliance"

// Compliance statuses.
const (
	Compliant    = "compliant"
	NotCompliant = "not_compliant"
)

// AreaCompliance says whether a key area was patrolled the rounds a day it needs
// (patrol.compliance, GB/T 29315: at least 5), and why not.
type AreaCompliance struct {
	Area       string `json:"area"`
	Name       string `json:"name,omitempty"`
	Required   int    `json:"required"`
	Rounds     int    `json:"rounds"` // completed rounds
	Missed     int    `json:"missed"` // rounds incomplete or not started
	InProgress int    `json:"in_progress,omitempty"`
	Status     string `json:"status"` // compliant or not_compliant
	Reason     string `json:"reason"`
}

// compliance judges the day's key areas from the runs (each run names its areas).
func compliance(runs []patrol.RunResult) []AreaCompliance {
	byID := map[string]*AreaCompliance{}
	for _, run := range runs {
		for _, a := range run.Areas {
			ac := byID[a.ID]
			if ac == nil {
				ac = &AreaCompliance{Area: a.ID, Name: a.Name, Required: a.MinRounds}
				byID[a.ID] = ac
			}
			switch run.Status {
			case patrol.RunCompleted:
				ac.Rounds++
			case patrol.RunInProgress:
				ac.InProgress++
			default:
				ac.Missed++
			}
		}
	}
	out := make([]AreaCompliance, 0, len(byID))
	for _, ac := range byID {
		n := name(ac.Name, ac.Area)
		if ac.Rounds >= ac.Required {
			ac.Status = Compliant
			ac.Reason = fmt.Sprintf("%s完成巡查%d次，符合每日至少%d次", n, ac.Rounds, ac.Required)
		} else {
			ac.Status = NotCompliant
			ac.Reason = fmt.Sprintf("%s只完成巡查%d次（%d次未完成或未开始），不符合每日至少%d次", n, ac.Rounds, ac.Missed, ac.Required)
			if ac.InProgress > 0 {
				ac.Reason += fmt.Sprintf("；另有%d次进行中", ac.InProgress)
			}
		}
		out = append(out, *ac)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Area < out[j].Area })
	return out
}
