package dc09

// CIDCode describes a Contact ID event code and its SIA DC-03 equivalents.
type CIDCode struct {
	Code       int    // Contact ID event code
	Meaning    string // short English meaning
	SIANew     string // SIA code for qualifier 1 (new) and 6; "" = not mapped
	SIARestore string // SIA code for qualifier 3 (restore); "" = not mapped
}

// cidCodes maps Contact ID codes to SIA DC-03 codes (the table in
// docs/policelink.md), sorted by code. A widely deployed receiver library answers
// DUH to a Contact ID code it has no SIA equivalent for (123, 371, 372, 383 among
// them), so the table lists only codes receivers agree on.
var cidCodes = []CIDCode{
	{100, "medical", "MA", "MH"},
	{101, "personal emergency", "QA", "QH"},
	{110, "fire", "FA", "FH"},
	{120, "panic", "PA", "PH"},
	{121, "duress", "HA", "HH"},
	{122, "silent panic", "HA", "HH"},
	{123, "audible panic", "", ""}, // not mapped by some receivers
	{130, "burglary", "BA", "BH"},
	{131, "perimeter burglary", "BA", "BH"},
	{132, "interior burglary", "BA", "BH"},
	{133, "24-hour burglary", "BA", "BH"},
	{137, "tamper (panel, enclosure)", "TA", "TR"},
	{144, "sensor tamper", "TA", "TR"},
	{301, "AC loss", "AT", "AR"},
	{302, "low system battery", "YT", "YR"},
	{350, "communication trouble", "YC", "YK"},
	{354, "failure to communicate", "YC", "YK"},
	{373, "fire trouble", "FT", "FJ"},
	{375, "panic zone trouble", "PT", "PJ"},
	{380, "sensor trouble", "YX", "YZ"},
	{381, "supervision loss (device offline)", "YC", "YK"},
	{602, "periodic test", "RP", ""},
}

// CIDCodes returns a copy of the known Contact ID codes, sorted by code.
func CIDCodes() []CIDCode { return append([]CIDCode(nil), cidCodes...) }

// LookupCID returns the table entry for a Contact ID event code.
func LookupCID(code int) (CIDCode, bool) {
	for _, c := range cidCodes {
		if c.Code == code {
			return c, true
		}
	}
	return CIDCode{}, false
}

// SIACode returns the SIA DC-03 two-letter code equivalent to a Contact ID
// event: the "new" code for qualifiers 1 and 6, the "restore" code for 3.
// ok is false when the code or that direction is not mapped.
func SIACode(c CID) (code string, ok bool) {
	e, found := LookupCID(c.Code)
	if !found {
		return "", false
	}
	switch c.Qualifier {
	case QualifierNew, QualifierPrevious:
		code = e.SIANew
	case QualifierRestore:
		code = e.SIARestore
	}
	return code, code != ""
}
