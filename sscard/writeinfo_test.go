package sscard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sscard/ssc/sim"
)

// sampleWriteInfo is the holder of the built-in gen3 software card
// (sim/profiles/gen3.yaml).
const sampleWriteInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20240101|20340101|A12345678|411602199001011232|张三||1|01|19900101|"

func sampleWI() *WriteInfo {
	return &WriteInfo{
		CardID:      mustHex("411600D156000005005A3C9E17B2D40F"),
		Institution: mustHex("411600000000000000000001"),
		IssueDate:   "20240101",
		ExpiryDate:  "20340101",
		CardNumber:  "A12345678",
		SSN:         "411602199001011232",
		Name:        "张三",
		Sex:         "1",
		Ethnicity:   "01",
		BirthDate:   "19900101",
	}
}

// withField replaces field i (0-based) of the sample string.
func withField(i int, v string) string { return setFields(map[int]string{i: v}) }

// setFields replaces fields (0-based) of the sample string.
func setFields(m map[int]string) string {
	f := strings.Split(sampleWriteInfo, "|")
	for i, v := range m {
		f[i] = v
	}
	return strings.Join(f, "|")
}

func TestParseWriteInfoValid(t *testing.T) {
	if w, err := ParseWriteInfo(sampleWriteInfo); err != nil || !reflect.DeepEqual(w, sampleWI()) {
		t.Fatalf("ParseWriteInfo(sample) = %+v, %v", w, err)
	}
	// SSN 11010519491231002X (check digit X, born 19491231) and
	// 411602202401011230 (born on the issue date).
	withSSN := func(ssn, birth string) string { return setFields(map[int]string{5: ssn, 10: birth}) }
	ok := []struct{ name, s string }{
		{"lowercase hex", withField(0, "411600d156000005005a3c9e17b2d40f")},
		{"lowercase x", withSSN("11010519491231002x", "19491231")},
		{"X check digit", withSSN("11010519491231002X", "19491231")},
		{"name ext", withField(7, "·阿不都")},
		{"name 30 bytes", withField(6, strings.Repeat("一", 15))},
		{"latin name", withField(6, "Zhang San")},
		{"sex 9", withField(8, "9")},
		{"sex 0", withField(8, "0")},
		{"ethnicity 97", withField(9, "97")},
		{"birth on issue date", withSSN("41160220240101123"+string(ssnCheckDigit("41160220240101123")), "20240101")},
		{"card number punctuation", withField(4, "A1234567-")},
	}
	for _, c := range ok {
		s := c.s
		t.Run(c.name, func(t *testing.T) {
			w, err := ParseWriteInfo(s)
			if err != nil {
				t.Fatal(err)
			}
			if w2, err := ParseWriteInfo(w.String()); err != nil || !reflect.DeepEqual(w, w2) {
				t.Fatalf("round trip via %q: %+v, %v", w.String(), w2, err)
			}
		})
	}
	w, err := ParseWriteInfo(withField(0, "411600d156000005005a3c9e17b2d40f"))
	if err != nil || w.String() != sampleWriteInfo {
		t.Errorf("lowercase hex not normalised: %q, %v", w.String(), err)
	}
	w, err = ParseWriteInfo(withSSN("11010519491231002x", "19491231"))
	if err != nil || w.SSN != "11010519491231002X" {
		t.Errorf("lowercase x not normalised: %+v, %v", w, err)
	}
	// GBK input (the DLL encoding).
	g, _ := ToGBK(sampleWriteInfo)
	if w, err := ParseWriteInfo(string(g)); err != nil || !reflect.DeepEqual(w, sampleWI()) {
		t.Errorf("GBK input: %+v, %v", w, err)
	}
}

func TestParseWriteInfoInvalid(t *testing.T) {
	cases := []struct {
		name, s, field, reason string
	}{
		{"empty", "", "", "trailing"},
		{"no trailing bar", strings.TrimSuffix(sampleWriteInfo, "|"), "", "trailing"},
		{"10 fields", strings.TrimSuffix(sampleWriteInfo, "19900101|"), "", "10 fields, want 11"},
		{"12 fields", sampleWriteInfo + "x|", "", "12 fields, want 11"},
		{"card id short", withField(0, "411600D156000005005A3C9E17B2D4"), "card_id", "30 hex digits"},
		{"card id not hex", withField(0, "411600D156000005005A3C9E17B2D4ZZ"), "card_id", "not hex"},
		{"card id region", withField(0, "4116A0D156000005005A3C9E17B2D40F"), "card_id", "region (first 3 bytes)"},
		{"institution short", withField(1, "41160000000000000001"), "institution", "20 hex digits"},
		{"issue date invalid", withField(2, "20230230"), "issue_date", "not a calendar date"},
		{"issue date format", withField(2, "2024-1-1"), "issue_date", "YYYYMMDD"},
		{"expiry date invalid", withField(3, "20341301"), "expiry_date", "not a calendar date"},
		{"expiry before issue", withField(3, "20231231"), "expiry_date", "not after"},
		{"expiry equal issue", withField(3, "20240101"), "expiry_date", "not after"},
		{"card number short", withField(4, "A1234567"), "card_number", "8 characters"},
		{"card number space", withField(4, "A1234567 "), "card_number", "not printable"},
		{"card number non-ASCII", withField(4, "A123456张"), "card_number", ""},
		{"ssn short", withField(5, "41160219900101123"), "ssn", "17 characters"},
		{"ssn letters", withField(5, "4116021990010112A2"), "ssn", "digits"},
		{"ssn last", withField(5, "41160219900101123Y"), "ssn", "digit or X"},
		{"ssn check digit", withField(5, "411602199001011236"), "ssn", "wrong check digit"},
		{"ssn birth date", withField(10, "19900102"), "ssn", "embedded birth date differs"},
		{"name empty", withField(6, ""), "name", "empty"},
		{"name emoji", withField(6, "张😀"), "name", "not in GBK"},
		{"name 31 bytes", withField(6, strings.Repeat("一", 15)+"a"), "name", "31 bytes in GBK"},
		{"name trailing space", withField(6, "张三 "), "name", "space"},
		{"name control", withField(6, "张\t三"), "name", "character 2 is a control"},
		{"name ext 21 bytes", withField(7, strings.Repeat("一", 10)+"a"), "name_ext", "21 bytes"},
		{"sex", withField(8, "3"), "sex", "GB/T 2261.1"},
		{"sex empty", withField(8, ""), "sex", ""},
		{"ethnicity 1 digit", withField(9, "1"), "ethnicity", "2 digits"},
		{"ethnicity letters", withField(9, "0A"), "ethnicity", "2 digits"},
		{"ethnicity 00 (reads back as unwritten)", withField(9, "00"), "ethnicity", "GB/T 3304"},
		{"ethnicity 57", withField(9, "57"), "ethnicity", "GB/T 3304"},
		{"ethnicity 99", withField(9, "99"), "ethnicity", "GB/T 3304"},
		{"birth date invalid", withField(10, "19900230"), "birth_date", "not a calendar date"},
		{"birth after issue", setFields(map[int]string{2: "19890101", 3: "19990101"}), "birth_date", "after issue_date"},
		{"not GBK", "\xff\xff|", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := ParseWriteInfo(c.s)
			if err == nil {
				t.Fatalf("accepted: %+v", w)
			}
			if !errors.Is(err, ErrWriteInfo) {
				t.Fatalf("error %v does not wrap ErrWriteInfo", err)
			}
			var we *WriteInfoError
			if !errors.As(err, &we) || we.Field != c.field {
				t.Fatalf("error %v: field %q, want %q", err, we.Field, c.field)
			}
			if !strings.Contains(err.Error(), c.reason) || !strings.HasPrefix(err.Error(), "sscard: write info: ") {
				t.Fatalf("error %q does not contain %q", err, c.reason)
			}
		})
	}
}

func TestWriteInfoValidateJSON(t *testing.T) {
	w := sampleWI()
	w.NameExt = "阿"
	js, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"card_id":"411600D156000005005A3C9E17B2D40F","institution":"411600000000000000000001","issue_date":"20240101","expiry_date":"20340101","card_number":"A12345678","ssn":"411602199001011232","name":"张三","name_ext":"阿","sex":"1","ethnicity":"01","birth_date":"19900101"}`
	if string(js) != want {
		t.Errorf("JSON %s\nwant %s", js, want)
	}
	var back WriteInfo
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(&back, w) || back.Validate() != nil {
		t.Fatalf("JSON round trip: %+v, %v, %v", back, err, back.Validate())
	}
	// JSON input is checked by Validate: lengths, lowercase x, missing fields.
	bad := []struct{ js, field string }{
		{`{"card_id":"4116"}`, "card_id"},
		{strings.Replace(want, `"1","ethnicity"`, `"7","ethnicity"`, 1), "sex"},
		{strings.Replace(want, `"institution":"411600000000000000000001"`, `"institution":"41"`, 1), "institution"},
		{strings.Replace(want, `,"birth_date":"19900101"`, ``, 1), "birth_date"},
		{strings.Replace(want, `"card_number":"A12345678"`, `"card_number":"A12|45678"`, 1), "card_number"},
	}
	for _, b := range bad {
		var w WriteInfo
		if err := json.Unmarshal([]byte(b.js), &w); err != nil {
			t.Fatal(err)
		}
		err := w.Validate()
		var we *WriteInfoError
		if !errors.As(err, &we) || we.Field != b.field || !errors.Is(err, ErrWriteInfo) {
			t.Errorf("Validate(%s) = %v, want field %s", b.js, err, b.field)
		}
	}
	var nilW *WriteInfo
	if err := nilW.Validate(); !errors.Is(err, ErrWriteInfo) {
		t.Errorf("nil Validate = %v", err)
	}
	lower := sampleWI()
	lower.SSN, lower.BirthDate = "11010519491231002x", "19491231"
	if err := lower.Validate(); !errors.Is(err, ErrWriteInfo) {
		t.Errorf("lowercase x in JSON accepted")
	}
}

// goldenRecords are the records of the gen3 software card's holder (EF06
// then EF05), as the card stores them.
var goldenRecords = []struct {
	sfi, rec byte
	field    string
	hex      string
}{
	{6, 1, "ssn", "0812343131363032313939303031303131323332"},
	{6, 2, "name", "091ED5C5C8FD" + strings.Repeat("20", 26)},
	{6, 3, "name_ext", "4E14" + strings.Repeat("20", 20)},
	{6, 4, "sex", "0A0131"},
	{6, 5, "ethnicity", "0B0101"},
	{6, 7, "birth_date", "0D0419900101"},
	{5, 1, "card_id", "0110411600D156000005005A3C9E17B2D40F"},
	{5, 2, "category", "020133"},
	{5, 3, "version", "0304332E3030"},
	{5, 4, "institution", "040C411600000000000000000001"},
	{5, 5, "issue_date", "050420240101"},
	{5, 6, "expiry_date", "060420340101"},
	{5, 7, "card_number", "0709413132333435363738"},
}

func TestWriteInfoRecordsGolden(t *testing.T) {
	recs, err := sampleWI().Records()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(goldenRecords) {
		t.Fatalf("%d records, want %d", len(recs), len(goldenRecords))
	}
	for i, g := range goldenRecords {
		r := recs[i]
		if r.SFI != g.sfi || r.Number != g.rec || r.Field != g.field || r.File != 0xEF00|uint16(g.sfi) ||
			!bytes.Equal(r.Data, mustHex(g.hex)) {
			t.Errorf("record %d = {%04X %d %d %s %X}, want SFI %d rec %d %s %s", i, r.File, r.SFI, r.Number, r.Field, r.Data, g.sfi, g.rec, g.field, g.hex)
		}
	}
	if _, err := (&WriteInfo{}).Records(); !errors.Is(err, ErrWriteInfo) {
		t.Errorf("Records of empty write info: %v", err)
	}
}

// TestWriteInfoRecordsSim reads the gen3 software card's records (after HSM
// authentication) and compares them with Records() of its holder data: a
// card written with Records() reads like a personalised one.
func TestWriteInfoRecordsSim(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contactless) // T=1: no GET RESPONSE
	ctx := context.Background()
	info, err := ReadWithHSM(ctx, tc.sess, simHSM{}, ReadOptions{Fields: FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	w := sampleWI()
	if err := w.Matches(info); err != nil {
		t.Errorf("Matches(sim card) = %v", err)
	}
	recs, _ := w.Records()
	for _, r := range recs {
		cmd := []byte{0x00, 0xB2, r.Number, r.SFI<<3 | 4, 0x00}
		resp, err := tc.card.Transmit(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp) >= 2 && resp[len(resp)-2] == 0x6C { // wrong Le
			cmd[4] = resp[len(resp)-1]
			resp, _ = tc.card.Transmit(ctx, cmd)
		}
		if len(resp) < 2 || resp[len(resp)-2] != 0x90 {
			t.Fatalf("READ RECORD %X answered %X", cmd, resp)
		}
		if got := resp[:len(resp)-2]; !bytes.Equal(got, r.Data) {
			t.Errorf("%s: card %X, Records %X", r.Field, got, r.Data)
		}
	}
}

func TestWriteInfoRecordsDecode(t *testing.T) {
	for _, s := range []string{
		sampleWriteInfo,
		"110105D156000005010203040506070F|ABCDEF0123456789ABCDEF01|20210203|20310203|X00000019|11010519491231002X|欧阳娜娜娜|·阿不都热依木|2|56|19491231|",
		"440700D15600000500152947B297502C|915666666254260054010AA1|20140126|20240126|JA334687X|440782199012292617|Li Lei|Jr|9|97|19901229|",
	} {
		w, err := ParseWriteInfo(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		recs, err := w.Records()
		if err != nil {
			t.Fatal(err)
		}
		var info BasicInfo
		for _, r := range recs {
			if err := DecodeRecord(&info, r.SFI, r.Data); err != nil {
				t.Fatalf("%s: DecodeRecord(%X): %v", r.Field, r.Data, err)
			}
		}
		if err := w.Matches(&info); err != nil {
			t.Errorf("%q: encode → decode → Matches: %v", s, err)
		}
		if info.Region != w.String()[:6] || info.Generation != 3 {
			t.Errorf("decoded region %q generation %d", info.Region, info.Generation)
		}
	}
}

func TestWriteInfoMatches(t *testing.T) {
	w := sampleWI()
	recs, _ := w.Records()
	var good BasicInfo
	for _, r := range recs {
		if err := DecodeRecord(&good, r.SFI, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Matches(&good); err != nil {
		t.Fatalf("Matches = %v", err)
	}
	// A zero-padded name reads the same.
	zero := good
	if err := DecodeRecord(&zero, 6, append(mustHex("091ED5C5C8FD"), make([]byte, 26)...)); err != nil || w.Matches(&zero) != nil {
		t.Errorf("zero padding: %v, %v", err, w.Matches(&zero))
	}
	cases := []struct {
		field string
		edit  func(b *BasicInfo)
		msg   string
	}{
		{"ssn", func(b *BasicInfo) { b.SSN = "" }, "ssn differs"},
		{"name", func(b *BasicInfo) { b.Name = "张四" }, "name differs"},
		{"name_ext", func(b *BasicInfo) { b.NameExt = "x" }, "name_ext"},
		{"sex", func(b *BasicInfo) { b.Sex = "2" }, "sex"},
		{"ethnicity", func(b *BasicInfo) { b.Ethnicity = "02" }, "ethnicity"},
		{"birth_date", func(b *BasicInfo) { b.BirthDate = "19900102" }, "birth_date"},
		{"card_id", func(b *BasicInfo) { b.CardID = mustHex("411600D156000005005A3C9E17B2D400") }, "card_id"},
		{"category", func(b *BasicInfo) { b.Category = "1" }, "category"},
		{"version", func(b *BasicInfo) { b.Version = "2.00" }, "version"},
		{"institution", func(b *BasicInfo) { b.Institution = nil }, "institution"},
		{"issue_date", func(b *BasicInfo) { b.IssueDate = "20240102" }, "issue_date"},
		{"expiry_date", func(b *BasicInfo) { b.ExpiryDate = "" }, "expiry_date"},
		{"card_number", func(b *BasicInfo) { b.CardNumber = "A12345679" }, "card_number differs"},
	}
	for _, c := range cases {
		b := good
		c.edit(&b)
		err := w.Matches(&b)
		var me *WriteMismatchError
		if !errors.Is(err, ErrWriteMismatch) || !errors.As(err, &me) || me.Field != c.field || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Matches = %v", c.field, err)
		}
	}
	if err := w.Matches(nil); !errors.Is(err, ErrWriteMismatch) {
		t.Errorf("Matches(nil) = %v", err)
	}
}

func ExampleParseWriteInfo() {
	w, err := ParseWriteInfo("411600d156000005005a3c9e17b2d40f|411600000000000000000001|20240101|20340101|A12345678|411602199001011232|张三||1|01|19900101|")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w.Name, w.SSN, w.CardID)
	fmt.Println(w.String())
	recs, _ := w.Records()
	fmt.Printf("%04X/%d %s %X\n", recs[0].File, recs[0].Number, recs[0].Field, recs[0].Data)

	_, err = ParseWriteInfo(strings.Replace(w.String(), "411602199001011232", "411602199001011236", 1))
	fmt.Println(err)
	// Output:
	// 张三 411602199001011232 411600D156000005005A3C9E17B2D40F
	// 411600D156000005005A3C9E17B2D40F|411600000000000000000001|20240101|20340101|A12345678|411602199001011232|张三||1|01|19900101|
	// EF06/1 ssn 0812343131363032313939303031303131323332
	// sscard: write info: ssn: wrong check digit (GB 11643)
}

// TestWriteInfoWith: the fields named are replaced and the whole is
// validated like ParseWriteInfo; w itself is unchanged.
func TestWriteInfoWith(t *testing.T) {
	w := sampleWI()
	got, err := w.With(map[string]string{"name": "李四", "expiry_date": "20391231"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "李四" || got.ExpiryDate != "20391231" || got.SSN != w.SSN || w.Name == "李四" {
		t.Fatalf("With = %+v (from %+v)", got, w)
	}
	for _, c := range []struct {
		values map[string]string
		field  string
	}{
		{map[string]string{"name": "a|b"}, "name"},
		{map[string]string{"category": "3"}, "category"},
		{map[string]string{"expiry_date": w.IssueDate}, "expiry_date"},
		{map[string]string{"sex": "5"}, "sex"},
		{map[string]string{"name": ""}, "name"},
	} {
		_, err := w.With(c.values)
		var wie *WriteInfoError
		if !errors.As(err, &wie) || wie.Field != c.field {
			t.Errorf("With(%v) = %v, want a WriteInfoError of %s", c.values, err, c.field)
		}
	}
}
