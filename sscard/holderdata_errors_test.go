package sscard

import (
	"errors"
	"strings"
	"testing"
)

// Sentinel holder values: distinctive enough that finding one in an error
// message can only mean the value was echoed.
const (
	sentSSNBirth  = "19851212" // the birth date inside sentSSN
	sentBirth     = "19851213" // birth_date, differing from the SSN's
	sentName      = "Qzentinelname"
	sentNameExt   = "Qzentinelext"
	sentCardNo    = "QZ7654321"
	sentIssue     = "20230405"
	sentExpiry    = "20330405"
	sentSex       = "Qzsex"
	sentEthnicity = "Qzeth"
)

// sentSSN is a valid SSN (check digit computed) embedding sentSSNBirth.
var sentSSN = withCheckDigit("11010519851212001")

func withCheckDigit(first17 string) string { return first17 + string(ssnCheckDigit(first17)) }

// holderValues lists the values of w an error must not show: every text
// field of 4 characters or more, and the SSN's birth date.
func holderValues(w *WriteInfo) []string {
	var out []string
	for _, v := range []string{w.IssueDate, w.ExpiryDate, w.CardNumber, w.SSN, w.Name, w.NameExt, w.Sex,
		w.Ethnicity, w.BirthDate, upperHex(w.CardID), upperHex(w.Institution)} {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	if len(w.SSN) >= 14 {
		out = append(out, w.SSN[6:14], w.SSN[:17])
	}
	return out
}

func assertNoHolderData(t *testing.T, what string, err error, values []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	msg := err.Error()
	for _, v := range values {
		if v != "" && strings.Contains(strings.ToUpper(msg), strings.ToUpper(v)) {
			t.Errorf("%s: error %q shows the value %q", what, msg, v)
		}
	}
}

// sentinelWI is a valid write info made of sentinel values.
func sentinelWI() *WriteInfo {
	w := sampleWI()
	w.SSN, w.BirthDate = sentSSN, sentSSNBirth
	w.Name, w.NameExt, w.CardNumber = sentName, sentNameExt, sentCardNo
	w.IssueDate, w.ExpiryDate = sentIssue, sentExpiry
	return w
}

// TestErrorsCarryNoHolderData walks every validation error of the write
// info (JSON Validate and the ministry string of ParseWriteInfo), the
// read-back comparison (Matches), IssueError wrapping them, the record
// decoder and the ministry parsers with sentinel values: no message shows a
// value, only the field's name.
func TestErrorsCarryNoHolderData(t *testing.T) {
	if err := sentinelWI().Validate(); err != nil {
		t.Fatalf("sentinel write info invalid: %v", err)
	}
	cases := []struct {
		field string
		mut   func(w *WriteInfo)
	}{
		{"card_id", func(w *WriteInfo) { w.CardID = mustHex("AB1600D156000005005A3C9E17B2D40F") }},
		{"card_id", func(w *WriteInfo) { w.CardID = w.CardID[:15] }},
		{"institution", func(w *WriteInfo) { w.Institution = w.Institution[:11] }},
		{"issue_date", func(w *WriteInfo) { w.IssueDate = "2023040Q" }},
		{"issue_date", func(w *WriteInfo) { w.IssueDate = "20231345" }},
		{"expiry_date", func(w *WriteInfo) { w.ExpiryDate = "20230230" }},
		{"expiry_date", func(w *WriteInfo) { w.ExpiryDate = "20220405" }},
		{"card_number", func(w *WriteInfo) { w.CardNumber = "QZ765432" }},
		{"card_number", func(w *WriteInfo) { w.CardNumber = "QZ76\x01321" }},
		{"birth_date", func(w *WriteInfo) { w.BirthDate = "1985121Q" }},
		{"birth_date", func(w *WriteInfo) { w.BirthDate = "19851232" }},
		{"birth_date", func(w *WriteInfo) { w.BirthDate, w.SSN = "20240101", withCheckDigit("11010520240101001") }},
		{"ssn", func(w *WriteInfo) { w.SSN = sentSSN[:17] }},
		{"ssn", func(w *WriteInfo) { w.SSN = "11010519851212QZ19" }},
		{"ssn", func(w *WriteInfo) { w.SSN = "11010519851212001Q" }},
		{"ssn", func(w *WriteInfo) {
			w.SSN = sentSSN[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", sentSSN[17])+1)%11])
		}}, // check digit
		{"ssn", func(w *WriteInfo) { w.BirthDate = sentBirth }},                 // defect 8
		{"name", func(w *WriteInfo) { w.Name = "" }},                            // nothing to show
		{"name", func(w *WriteInfo) { w.Name = sentName + "\x01x" }},            // control
		{"name", func(w *WriteInfo) { w.Name = sentName + "|x" }},               // separator
		{"name", func(w *WriteInfo) { w.Name = " " + sentName }},                // space
		{"name", func(w *WriteInfo) { w.Name = sentName + "\U0001F600" }},       // not in GBK
		{"name", func(w *WriteInfo) { w.Name = strings.Repeat(sentName, 3) }},   // too long
		{"name_ext", func(w *WriteInfo) { w.NameExt = sentNameExt + "\u20ac" }}, // € is in GBK? either way no echo
		{"name_ext", func(w *WriteInfo) { w.NameExt = strings.Repeat(sentNameExt, 2) }},
		{"sex", func(w *WriteInfo) { w.Sex = sentSex }},
		{"ethnicity", func(w *WriteInfo) { w.Ethnicity = sentEthnicity }},
	}
	for i, c := range cases {
		w := sentinelWI()
		c.mut(w)
		values := append(holderValues(w), sentBirth, sentSSNBirth)
		err := w.Validate()
		if err == nil {
			continue // a mutation that happens to be valid (the € case)
		}
		var we *WriteInfoError
		if !errors.As(err, &we) || we.Field != c.field {
			t.Errorf("case %d: Validate = %v, want a WriteInfoError on %s", i, err, c.field)
		}
		assertNoHolderData(t, c.field+" (Validate)", err, values)
		// The same through the ministry string, where it can be written.
		if !strings.ContainsAny(w.Name+w.NameExt+w.CardNumber, "|") {
			_, perr := ParseWriteInfo(w.String())
			if perr != nil {
				assertNoHolderData(t, c.field+" (ParseWriteInfo)", perr, values)
			}
		}
		ie := &IssueError{Step: StepCheck, Err: err}
		assertNoHolderData(t, c.field+" (IssueError)", ie, values)
	}

	// The read-back comparison: every field differs in turn.
	w := sentinelWI()
	card := &BasicInfo{SSN: w.SSN, Name: w.Name, NameExt: w.NameExt, Sex: w.Sex, Ethnicity: w.Ethnicity,
		BirthDate: w.BirthDate, CardID: w.CardID, Category: WriteCategory, Version: WriteVersion,
		Institution: w.Institution, IssueDate: w.IssueDate, ExpiryDate: w.ExpiryDate, CardNumber: w.CardNumber}
	if err := w.Matches(card); err != nil {
		t.Fatalf("Matches(same) = %v", err)
	}
	other := []func(b *BasicInfo){
		func(b *BasicInfo) { b.SSN = withCheckDigit("11010519851213001") },
		func(b *BasicInfo) { b.Name = "Qzcardname" },
		func(b *BasicInfo) { b.NameExt = "Qzcardext" },
		func(b *BasicInfo) { b.Sex = "Qzcardsex" },
		func(b *BasicInfo) { b.Ethnicity = "Qzcardeth" },
		func(b *BasicInfo) { b.BirthDate = sentBirth },
		func(b *BasicInfo) { b.CardID = mustHex("411600D156000005005A3C9E17B2D4FF") },
		func(b *BasicInfo) { b.Institution = mustHex("4116000000000000000000FF") },
		func(b *BasicInfo) { b.IssueDate = "20230406" },
		func(b *BasicInfo) { b.ExpiryDate = "20330406" },
		func(b *BasicInfo) { b.CardNumber = "QZ1234567" },
	}
	for i, mut := range other {
		c := *card
		mut(&c)
		err := w.Matches(&c)
		if !errors.Is(err, ErrWriteMismatch) {
			t.Fatalf("Matches case %d = %v", i, err)
		}
		vals := append(holderValues(w), c.SSN, c.Name, c.NameExt, c.Sex, c.Ethnicity, c.BirthDate,
			upperHex(c.CardID), upperHex(c.Institution), c.IssueDate, c.ExpiryDate, c.CardNumber)
		assertNoHolderData(t, "Matches", err, vals)
		assertNoHolderData(t, "Matches (IssueError)", &IssueError{Step: StepVerify, Written: []string{"ssn"}, Err: err}, vals)
	}

	// The record decoder: an invalid birth date, ethnicity, dates read
	// from the card.
	for _, rec := range []struct {
		sfi  byte
		data []byte
		val  string
	}{
		{SFIEF06, mustHex("0D0419851232"), "19851232"},
		{SFIEF06, mustHex("0D04198512AB"), "198512AB"},
		{SFIEF05, mustHex("05042023AB05"), "2023AB05"},
		{SFIEF05, mustHex("06042033AB05"), "2033AB05"},
	} {
		var info BasicInfo
		err := DecodeRecord(&info, rec.sfi, rec.data)
		if !errors.Is(err, ErrMalformedRecord) {
			t.Fatalf("DecodeRecord(%X) = %v", rec.data, err)
		}
		assertNoHolderData(t, "DecodeRecord", err, []string{rec.val})
	}

	// The ministry iReadCardBas string with a bad field.
	bas := strings.Split(sampleGen3NoH, "|")
	bas[1], bas[2], bas[4] = sentSSN, sentCardNo, sentName
	for _, i := range []int{0, 3, 5, 6, 7, 8} {
		f := append([]string(nil), bas...)
		f[i] = "Qzbad" + f[i]
		_, _, err := ParseReadCardBas(strings.Join(f, "|"))
		if err != nil {
			assertNoHolderData(t, "ParseReadCardBas", err, []string{sentSSN, sentCardNo, sentName})
		}
	}
}
