package policelink

import (
	"fmt"

	"github.com/campusguard/campusguard/alerting"
)

// History actions the link journals for its own reports, shown in the console's
// history with the alarms'.
const (
	ActionTestReport = "police_test" // a test report (602 periodic, 601 installer test) and its outcome
	ActionLinkReport = "police_link" // a path failure / restore report and its outcome
)

// committer is the journal's append-only write, when the Store has it.
type committer interface {
	Commit(c alerting.Commit) error
}

// journalReport appends a history record of a report the link made on its own; a
// failure is logged (the report itself went out or not regardless).
func (s *Sink) journalReport(action, note string) {
	c, ok := s.store.(committer)
	if !ok {
		return
	}
	rec := alerting.HistoryRecord{At: s.clock.Now(), Action: action, By: "policelink/" + s.cfg.Name, Note: note}
	if err := c.Commit(alerting.Commit{History: []alerting.HistoryRecord{rec}}); err != nil {
		s.log.Error("policelink: journaling a link report", "action", action, "err", err)
	}
}

func reportNote(rep Report, seq int, outcome string) string {
	return fmt.Sprintf("%s: Contact ID %d (seq %04d) %s", map[bool]string{true: "test", false: "link"}[rep.Test], rep.Code, seq, outcome)
}
