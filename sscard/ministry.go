package sscard

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// TerminalInfo is the terminal part of the iReadCardBas string: the PSAM
// terminal number (终端机编号) and the terminal device number (终端设备号).
// They come from configuration or a PSAM, never from the user card. When
// both are empty the two fields are omitted (the 9-field variant a DLL
// without PSAM produces, ssc-facts §2.3 3rd-gen sample).
type TerminalInfo struct {
	TerminalNo string `json:"terminal_no,omitempty"`
	DeviceNo   string `json:"device_no,omitempty"`
}

// FormatReadCardBas formats the ministry iReadCardBas string (ssc-facts §2.3):
//
//	region|SSN|cardNo|cardID|name|ATRhist|version|issue|expiry|terminalNo|deviceNo|
//
// Every field is followed by "|"; hex is uppercase. Unread fields are empty.
// When term is the zero value the last two fields are omitted (9 fields).
// The result is a Go (UTF-8) string; use ToGBK for the DLL encoding.
func FormatReadCardBas(info *BasicInfo, term TerminalInfo) string {
	f := []string{info.Region, info.SSN, info.CardNumber, upperHex(info.CardID), info.Name,
		upperHex(info.ATRHistorical), info.Version, info.IssueDate, info.ExpiryDate}
	if term != (TerminalInfo{}) {
		f = append(f, term.TerminalNo, term.DeviceNo)
	}
	return strings.Join(f, "|") + "|"
}

// ParseReadCardBas parses an iReadCardBas string of 11 fields (or 9: no
// terminal fields), each followed by "|". A string that is not valid UTF-8 is
// decoded as GBK. Empty SSN, card number and name (3rd gen without HSM) are
// listed in BasicInfo.Unavailable.
func ParseReadCardBas(s string) (*BasicInfo, TerminalInfo, error) {
	var term TerminalInfo
	s, err := fromMaybeGBK(s)
	if err != nil {
		return nil, term, &FormatError{Format: "iReadCardBas", Reason: err.Error()}
	}
	f, ferr := splitFields("iReadCardBas", s, 9, 11)
	if ferr != nil {
		return nil, term, ferr
	}
	fe := func(field, reason string) error {
		return &FormatError{Format: "iReadCardBas", Field: field, Reason: reason}
	}
	info := &BasicInfo{Region: f[0], SSN: f[1], CardNumber: f[2], Name: f[4], Version: f[6], IssueDate: f[7], ExpiryDate: f[8]}
	if len(info.Region) != 6 || !isDigits(info.Region) {
		return nil, term, fe("region", "want 6 digits")
	}
	if info.CardID, err = hexField(f[3], 16); err != nil {
		return nil, term, fe("card_id", err.Error())
	}
	if !strings.EqualFold(upperHex(info.CardID[:3]), info.Region) {
		return nil, term, fe("region", "differs from the card id prefix")
	}
	if info.ATRHistorical, err = hexField(f[5], -1); err != nil {
		return nil, term, fe("atr_historical", err.Error())
	}
	var ok bool
	if info.Generation, ok = generationOf(info.Version); !ok || len(info.Version) != 4 {
		return nil, term, fe("version", fmt.Sprintf("unknown spec version %q", info.Version))
	}
	for _, d := range []struct{ name, v string }{{"issue_date", info.IssueDate}, {"expiry_date", info.ExpiryDate}} {
		if d.v != "" && (len(d.v) != 8 || !isDigits(d.v)) {
			return nil, term, fe(d.name, "want YYYYMMDD")
		}
	}
	for _, d := range []struct{ name, v string }{{"ssn", info.SSN}, {"card_number", info.CardNumber}, {"name", info.Name}} {
		if d.v == "" {
			info.Unavailable = append(info.Unavailable, d.name)
		}
	}
	if len(f) == 11 {
		term = TerminalInfo{TerminalNo: f[9], DeviceNo: f[10]}
	}
	return info, term, nil
}

// ToGBK encodes a ministry string in GBK, as the DLL interface uses it.
func ToGBK(s string) ([]byte, error) {
	return simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
}

func fromMaybeGBK(s string) (string, error) {
	if utf8.ValidString(s) {
		return s, nil
	}
	b, err := simplifiedchinese.GBK.NewDecoder().Bytes([]byte(s))
	return string(b), err
}

// splitFields splits "a|b|...|" checking the trailing "|" and the count.
func splitFields(format, s string, counts ...int) ([]string, error) {
	if !strings.HasSuffix(s, "|") {
		return nil, &FormatError{Format: format, Reason: `missing trailing "|"`}
	}
	f := strings.Split(strings.TrimSuffix(s, "|"), "|")
	for _, c := range counts {
		if len(f) == c {
			return f, nil
		}
	}
	return nil, &FormatError{Format: format, Reason: fmt.Sprintf("%d fields, want %v", len(f), counts)}
}

// hexField decodes hex of n bytes (n < 0: any length).
func hexField(s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid hex")
	}
	if n >= 0 && len(b) != n {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), n)
	}
	return b, nil
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// AlgSM4 is the algorithm flag (算法标识) of the 3rd gen: SM4.
const AlgSM4 = "03"

// Step1 is the HSM Step-1 request (ssc-facts §2.4):
//
//	region|ATRhist|alg|cardID|F1|O1|F2|O2|
//
// F1/O1 are the internal-authentication process factor and original data,
// F2/O2 the external-authentication ones; all four are card challenges.
type Step1 struct {
	Region        string   `json:"region"`
	ATRHistorical HexBytes `json:"atr_historical"`
	Algorithm     string   `json:"algorithm"` // "03" SM4
	CardID        HexBytes `json:"card_id"`
	F1            HexBytes `json:"f1"`
	O1            HexBytes `json:"o1"`
	F2            HexBytes `json:"f2"`
	O2            HexBytes `json:"o2"`
}

// String formats the Step-1 string (uppercase hex, trailing "|").
func (s Step1) String() string {
	return strings.Join([]string{s.Region, upperHex(s.ATRHistorical), s.Algorithm, upperHex(s.CardID),
		upperHex(s.F1), upperHex(s.O1), upperHex(s.F2), upperHex(s.O2)}, "|") + "|"
}

// ParseStep1 parses a Step-1 string of 8 fields.
func ParseStep1(str string) (Step1, error) {
	f, err := splitFields("Step1", str, 8)
	if err != nil {
		return Step1{}, err
	}
	fe := func(field, reason string) error { return &FormatError{Format: "Step1", Field: field, Reason: reason} }
	s := Step1{Region: f[0], Algorithm: f[2]}
	if len(s.Region) != 6 || !isDigits(s.Region) {
		return Step1{}, fe("region", "want 6 digits")
	}
	if len(s.Algorithm) != 2 || !isDigits(s.Algorithm) {
		return Step1{}, fe("algorithm", "want 2 digits")
	}
	if s.ATRHistorical, err = hexField(f[1], -1); err != nil {
		return Step1{}, fe("atr_historical", err.Error())
	}
	if s.CardID, err = hexField(f[3], 16); err != nil {
		return Step1{}, fe("card_id", err.Error())
	}
	for i, p := range []*HexBytes{&s.F1, &s.O1, &s.F2, &s.O2} {
		if *p, err = hexField(f[4+i], 8); err != nil {
			return Step1{}, fe([]string{"f1", "o1", "f2", "o2"}[i], err.Error())
		}
	}
	return s, nil
}

// Step2Input is the HSM answer, the pKey of iReadCardBas_HSM_Step2:
// RESULT1|RESULT2| with RESULT1 = C1||O1 and RESULT2 = C2||O2 (16 bytes each).
type Step2Input struct {
	Result1 [16]byte `json:"-"`
	Result2 [16]byte `json:"-"`
}

// String formats RESULT1|RESULT2| in uppercase hex.
func (a Step2Input) String() string {
	return upperHex(a.Result1[:]) + "|" + upperHex(a.Result2[:]) + "|"
}

// ParseStep2Input parses RESULT1|RESULT2| (32 hex characters each).
func ParseStep2Input(s string) (Step2Input, error) {
	var a Step2Input
	f, err := splitFields("Step2Input", strings.TrimRight(s, "\r\n"), 2)
	if err != nil {
		return a, err
	}
	for i, dst := range []*[16]byte{&a.Result1, &a.Result2} {
		if len(f[i]) != 32 {
			return Step2Input{}, &FormatError{Format: "Step2Input", Field: fmt.Sprintf("RESULT%d", i+1), Reason: fmt.Sprintf("%d characters, want 32", len(f[i]))}
		}
		b, err := hexField(f[i], 16)
		if err != nil {
			return Step2Input{}, &FormatError{Format: "Step2Input", Field: fmt.Sprintf("RESULT%d", i+1), Reason: err.Error()}
		}
		copy(dst[:], b)
	}
	return a, nil
}
