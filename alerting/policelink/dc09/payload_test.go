package dc09

import (
	"errors"
	"testing"
)

func TestCIDFormatParse(t *testing.T) {
	tests := []struct {
		account string
		cid     CID
		want    string
	}{
		{"1234", CID{QualifierNew, 120, 1, 15}, "#1234|1120 01 015"},
		{"1234", CID{QualifierRestore, 120, 1, 15}, "#1234|3120 01 015"},
		{"ABCDEF0123456789", CID{QualifierPrevious, 0, 0, 0}, "#ABCDEF0123456789|6000 00 000"},
		{"9", CID{QualifierNew, 999, 99, 999}, "#9|1999 99 999"},
	}
	for _, tt := range tests {
		got, err := FormatCID(tt.account, tt.cid)
		if err != nil || got != tt.want {
			t.Errorf("FormatCID(%q, %+v) = %q, %v; want %q", tt.account, tt.cid, got, err, tt.want)
			continue
		}
		acct, c, err := ParseCID(got)
		if err != nil || acct != tt.account || c != tt.cid {
			t.Errorf("ParseCID(%q) = %q, %+v, %v", got, acct, c, err)
		}
	}
}

func TestCIDErrors(t *testing.T) {
	bad := []CID{{2, 120, 1, 1}, {1, -1, 1, 1}, {1, 1000, 1, 1}, {1, 120, 100, 1}, {1, 120, -1, 1}, {1, 120, 1, 1000}, {1, 120, 1, -1}}
	for _, c := range bad {
		if _, err := FormatCID("1234", c); !errors.Is(err, ErrPayload) {
			t.Errorf("FormatCID(%+v) = %v, want ErrPayload", c, err)
		}
	}
	for _, acct := range []string{"", "12G4", "12345678901234567"} {
		if _, err := FormatCID(acct, CID{1, 120, 1, 1}); !errors.Is(err, ErrPayload) {
			t.Errorf("FormatCID(account %q) = %v, want ErrPayload", acct, err)
		}
	}
	for _, data := range []string{
		"", "1234|1120 01 015", "#1234 1120 01 015", "#|1120 01 015", "#12X4|1120 01 015",
		"#1234|1120 01 01", "#1234|1120 01 0155", "#1234|112001 015 ", "#1234|2120 01 015",
		"#1234|1a20 01 015", "#1234|1120 0x 015", "#1234|1120 01 01x", "#1234|1120-01-015",
	} {
		if _, _, err := ParseCID(data); !errors.Is(err, ErrPayload) {
			t.Errorf("ParseCID(%q) = %v, want ErrPayload", data, err)
		}
	}
}

func TestSIAFormatParse(t *testing.T) {
	tests := []struct {
		ev   SIAEvent
		want string
	}{
		{SIAEvent{Area: "1", Code: "PA", Addr: "015"}, "#1234|Nri1/PA015"},
		{SIAEvent{Area: "2", User: "12", Time: "10:30", Code: "OP", Addr: "12", Text: "Gate"}, "#1234|Nri2/id12/ti10:30/OP12^Gate^"},
		{SIAEvent{Code: "RP"}, "#1234|NRP"},
		{SIAEvent{Code: "YC", Addr: "1", ASCII: "path down"}, "#1234|NYC1|Apath down"},
		{SIAEvent{Code: "FA", Addr: "3", Text: "Canteen", ASCII: "x"}, "#1234|NFA3^Canteen^|Ax"},
	}
	for _, tt := range tests {
		got, err := FormatSIA("1234", tt.ev)
		if err != nil || got != tt.want {
			t.Errorf("FormatSIA(%+v) = %q, %v; want %q", tt.ev, got, err, tt.want)
			continue
		}
		acct, ev, err := ParseSIA(got)
		if err != nil || acct != "1234" || ev != tt.ev {
			t.Errorf("ParseSIA(%q) = %q, %+v, %v", got, acct, ev, err)
		}
	}
	// Modifiers in another order parse to the same event.
	_, ev, err := ParseSIA("#1234|Nti10:30/ri2/PA1")
	if err != nil || ev != (SIAEvent{Area: "2", Time: "10:30", Code: "PA", Addr: "1"}) {
		t.Errorf("ParseSIA(reordered) = %+v, %v", ev, err)
	}
}

func TestSIAErrors(t *testing.T) {
	for _, ev := range []SIAEvent{
		{Code: "P"}, {Code: "pa"}, {Code: "PA", Addr: "1a"}, {Code: "PA", Addr: "1234567"},
		{Code: "PA", Area: "x"}, {Code: "PA", User: "1234567"}, {Code: "PA", Time: "24:00"},
		{Code: "PA", Time: "1030"}, {Code: "PA", Text: "a^b"}, {Code: "PA", ASCII: "a]b"},
	} {
		if _, err := FormatSIA("1234", ev); !errors.Is(err, ErrPayload) {
			t.Errorf("FormatSIA(%+v) = %v, want ErrPayload", ev, err)
		}
	}
	if _, err := FormatSIA("", SIAEvent{Code: "PA"}); !errors.Is(err, ErrPayload) {
		t.Errorf("FormatSIA(no account) = %v, want ErrPayload", err)
	}
	for _, data := range []string{
		"", "1234|NPA1", "#1234NPA1", "#|NPA1", "#1234|PA1", "#1234|N", "#1234|NP",
		"#1234|Nri1PA1", "#1234|Nxx1/PA1", "#1234|Nri/PA1", "#1234|Nri1/ri2/PA1",
		"#1234|NPA1^text", "#1234|NPA1x", "#1234|NPA1/BA2", "#1234|Nti25:00/PA1",
	} {
		if _, _, err := ParseSIA(data); !errors.Is(err, ErrPayload) {
			t.Errorf("ParseSIA(%q) = %v, want ErrPayload", data, err)
		}
	}
}

func TestCIDToSIA(t *testing.T) {
	tests := []struct {
		cid  CID
		want string
		ok   bool
	}{
		{CID{QualifierNew, 120, 1, 1}, "PA", true},
		{CID{QualifierRestore, 120, 1, 1}, "PH", true},
		{CID{QualifierPrevious, 110, 1, 1}, "FA", true},
		{CID{QualifierNew, 350, 0, 0}, "YC", true},
		{CID{QualifierRestore, 350, 0, 0}, "YK", true},
		{CID{QualifierNew, 381, 0, 0}, "YC", true},
		{CID{QualifierNew, 137, 0, 0}, "TA", true},
		{CID{QualifierRestore, 137, 0, 0}, "TR", true},
		{CID{QualifierNew, 144, 0, 0}, "TA", true},
		{CID{QualifierNew, 130, 0, 0}, "BA", true},
		{CID{QualifierRestore, 131, 0, 0}, "BH", true},
		{CID{QualifierNew, 375, 0, 0}, "PT", true},
		{CID{QualifierNew, 602, 0, 0}, "RP", true},
		{CID{QualifierRestore, 602, 0, 0}, "", false},
		{CID{QualifierNew, 123, 0, 0}, "", false},
		{CID{QualifierNew, 999, 0, 0}, "", false},
		{CID{2, 120, 0, 0}, "", false},
	}
	for _, tt := range tests {
		got, ok := SIACode(tt.cid)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SIACode(%+v) = %q, %v; want %q, %v", tt.cid, got, ok, tt.want, tt.ok)
		}
	}
	codes := CIDCodes()
	if len(codes) != 22 {
		t.Fatalf("CIDCodes has %d entries, want the 22 of docs/policelink.md", len(codes))
	}
	for i := 1; i < len(codes); i++ {
		if codes[i-1].Code >= codes[i].Code {
			t.Fatalf("CIDCodes not sorted at %d", i)
		}
	}
	codes[0].SIANew = "XX" // a copy: the table is not changed
	if e, _ := LookupCID(100); e.SIANew != "MA" || e.Meaning != "medical" {
		t.Fatalf("LookupCID(100) = %+v", e)
	}
	if _, ok := LookupCID(1); ok {
		t.Fatal("LookupCID(1) found")
	}
}
