package records

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
)

// The CSV tables.
const (
	TableAlarms  = "alarms"
	TableRecords = "records"
)

// AlarmHeader and RecordHeader are the Chinese column names of the two tables; the
// JSON export uses the same names as keys.
var (
	AlarmHeader = []string{"报警编号", "发生时间", "类别", "级别", "规则", "设备", "区域", "位置", "内容", "状态",
		"次数", "确认时间", "确认人", "确认说明", "解除时间", "解除人", "原因", "测试"}
	RecordHeader = []string{"序号", "时间", "动作", "动作代码", "操作人", "报警编号", "设备", "区域", "级别", "状态", "说明", "记录类别"}
)

var classNames = map[alerting.Class]string{
	alerting.ClassPanic: "紧急求助", alerting.ClassIntrusion: "入侵", alerting.ClassTamper: "防拆",
	alerting.ClassFault: "故障", alerting.ClassOffline: "离线", alerting.ClassLink: "报警传输",
	alerting.ClassPatrol: "巡更", alerting.ClassKitchen: "明厨亮灶", alerting.ClassOther: "其他",
}

var severityNames = map[alerting.Severity]string{
	alerting.Critical: "紧急", alerting.Major: "重要", alerting.Minor: "一般", alerting.Info: "提示",
}

var stateNames = map[alerting.State]string{
	alerting.Firing: "报警中", alerting.Acknowledged: "已确认", alerting.Resolved: "已解除",
}

var actionNames = map[string]string{
	"fired": "报警", "refired": "再次触发", "occurred": "再次触发", "acknowledged": "确认", "escalated": "升级",
	"cleared": "条件消除", "resolved": "解除", "silenced": "静音", "unsilenced": "取消静音",
	"silence_expired": "静音到期", "armed": "布防", "disarmed": "撤防", "login": "登录",
	"login_failed": "登录失败", "logout": "退出",
}

var recordClassNames = map[journal.RecordClass]string{
	journal.RecAlarm: "报警", journal.RecOperator: "操作", journal.RecPatrol: "巡更", journal.RecFault: "故障",
}

func name(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

func (e *Export) ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(e.Location).Format(time.DateTime)
}

// AlarmRow is one alarm as a row of the export.
func (e *Export) AlarmRow(a *alerting.Alarm) []string {
	cls := classNames[a.Class]
	if cls == "" {
		cls = string(a.Class)
	}
	sev := severityNames[a.Severity]
	if sev == "" {
		sev = string(a.Severity)
	}
	st := stateNames[a.State]
	if st == "" {
		st = string(a.State)
	}
	test := ""
	if a.Test {
		test = "是"
	}
	return []string{a.ID, e.ts(a.FiredAt), cls, sev, a.Rule, a.DeviceID, a.Zone, a.Location, a.Message, st,
		strconv.Itoa(max(a.Count, 1)), e.ts(a.AckedAt), a.AckedBy, a.AckNote, e.ts(a.ResolvedAt), a.ResolvedBy, a.Reason, test}
}

// RecordRow is one history record as a row of the export.
func (e *Export) RecordRow(h *alerting.HistoryRecord) []string {
	sev := severityNames[h.Severity]
	if sev == "" {
		sev = string(h.Severity)
	}
	st := stateNames[h.State]
	if st == "" {
		st = string(h.State)
	}
	class := journal.RecAlarm
	if e.classes == nil {
		e.classes = map[string]alerting.Class{}
		for i := range e.Alarms {
			e.classes[e.Alarms[i].ID] = e.Alarms[i].Class
		}
	}
	if c, ok := e.classes[h.AlarmID]; ok {
		class = journal.ClassOfAlarm(c)
	}
	if journal.OperatorAction(h) {
		class = journal.RecOperator
	}
	return []string{strconv.FormatUint(h.Seq, 10), e.ts(h.At), name(actionNames, h.Action), h.Action, h.By, h.AlarmID,
		h.DeviceID, h.Zone, sev, st, h.Note, recordClassNames[class]}
}

// WriteCSV writes one table (alarms or records; "" = alarms) with a UTF-8 byte order
// mark, so a spreadsheet opens the Chinese headers right.
func (e *Export) WriteCSV(w io.Writer, table string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	switch table {
	case "", TableAlarms:
		_ = cw.Write(AlarmHeader)
		for i := range e.Alarms {
			_ = cw.Write(e.AlarmRow(&e.Alarms[i]))
		}
	case TableRecords:
		_ = cw.Write(RecordHeader)
		for i := range e.Records {
			_ = cw.Write(e.RecordRow(&e.Records[i]))
		}
	default:
		return fmt.Errorf("table: want alarms or records, got %q", table)
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes both tables as objects keyed by the Chinese headers:
// {"范围": {"开始", "结束"}, "报警": [...], "操作记录": [...]}.
func (e *Export) WriteJSON(w io.Writer) error {
	obj := func(h []string, row []string) orderedRow { return orderedRow{h, row} }
	out := struct {
		Range   map[string]string `json:"范围"`
		Alarms  []orderedRow      `json:"报警"`
		Records []orderedRow      `json:"操作记录"`
	}{Range: map[string]string{"开始": e.ts(e.From), "结束": e.ts(e.To)}, Alarms: []orderedRow{}, Records: []orderedRow{}}
	for i := range e.Alarms {
		out.Alarms = append(out.Alarms, obj(AlarmHeader, e.AlarmRow(&e.Alarms[i])))
	}
	for i := range e.Records {
		out.Records = append(out.Records, obj(RecordHeader, e.RecordRow(&e.Records[i])))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// orderedRow marshals as a JSON object with the header's key order.
type orderedRow struct {
	keys, vals []string
}

func (r orderedRow) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range r.keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(r.vals[i])
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}
