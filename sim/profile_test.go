package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"gopkg.in/yaml.v3"
)

func TestBuiltins(t *testing.T) {
	names := BuiltinNames()
	if !slices.Equal(names, []string{"gen2", "gen3", "gen3-blank"}) {
		t.Fatalf("BuiltinNames() = %v", names)
	}
	if !slices.Contains(names, DefaultProfile) {
		t.Fatalf("DefaultProfile %q is not built in", DefaultProfile)
	}
	for _, n := range names {
		p, err := Builtin(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if p.Name != n {
			t.Errorf("%s: name %q", n, p.Name)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		p.SSSE.Name = "changed"
		if q, _ := Builtin(n); q.SSSE.Name == "changed" {
			t.Errorf("%s: Builtin returns shared state", n)
		}
	}
	if _, err := Builtin("gen4"); err == nil || !strings.Contains(err.Error(), "gen2, gen3, gen3-blank") {
		t.Errorf("Builtin(gen4): %v", err)
	}
}

// ssnCheck computes the ISO 7064 MOD 11-2 check character of GB 11643.
func ssnCheck(first17 string) byte {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

func TestBuiltinGen3(t *testing.T) {
	p, _ := Builtin("gen3")
	s := p.SSSE
	if s.Version != "3.00" || s.Category != "3" || s.CardNumber != "A12345678" || s.Name != "张三" ||
		s.IssueDate != "20240101" || s.ExpiryDate != "20340101" || s.BirthDate != "19900101" ||
		s.Sex != "1" || s.Ethnicity != "01" {
		t.Errorf("gen3 SSSE = %+v", s)
	}
	if !strings.HasPrefix(s.CardID, "411600D156000005") {
		t.Errorf("card id %s", s.CardID)
	}
	if !strings.Contains(p.ATRHistorical, "411600") || !strings.HasPrefix(p.ATRHistorical, "008C544CB38684") {
		t.Errorf("ATR historical bytes %s", p.ATRHistorical)
	}
	if len(s.SSN) != 18 || ssnCheck(s.SSN) != s.SSN[17] {
		t.Errorf("SSN %s: check character should be %c", s.SSN, ssnCheck(s.SSN))
	}
	if s.SSN[6:14] != s.BirthDate {
		t.Errorf("SSN %s does not embed the birth date %s", s.SSN, s.BirthDate)
	}
	if p.Contactless == nil || len(p.Contactless.UID) != 8 {
		t.Errorf("contactless %+v", p.Contactless)
	}
}

func TestBuiltinGen2(t *testing.T) {
	p, _ := Builtin("gen2")
	s := p.SSSE
	if p.ATRHistorical != "0081008843866533010114F199" || s.CardID != "330100D1560000050114F199D286DF7E" ||
		s.Version != "1.00" || s.CardNumber != "A15921622" || s.SSN != "332603197912225416" || s.Sex != "1" {
		t.Errorf("gen2 = %+v", p)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(s.Name)
	if err != nil || hx([]byte(gbk)) != "B4F7C8FCD1C2" {
		t.Errorf("name %q is %X in GBK (%v), want B4F7C8FCD1C2", s.Name, gbk, err)
	}
	if ssnCheck(s.SSN) != s.SSN[17] || s.SSN[6:14] != s.BirthDate {
		t.Errorf("SSN %s inconsistent", s.SSN)
	}
	if p.Contactless != nil {
		t.Error("2nd-gen cards are contact only")
	}
}

// TestProfileErrors breaks one field at a time and checks that both the JSON
// and the YAML form are rejected with an error naming the field.
func TestProfileErrors(t *testing.T) {
	tests := []struct {
		name, field string
		edit        func(p *Profile)
	}{
		{"no name", "name", func(p *Profile) { p.Name = "" }},
		{"hist bad hex", "atr_historical", func(p *Profile) { p.ATRHistorical = "008C544CB386844116005A3C9G" }},
		{"hist short", "atr_historical", func(p *Profile) { p.ATRHistorical = "008C544CB386844116005A3C" }},
		{"hist missing", "atr_historical", func(p *Profile) { p.ATRHistorical = "" }},
		{"uid short", "contactless.uid", func(p *Profile) { p.Contactless.UID = "5A3C9E" }},
		{"app data bad hex", "contactless.app_data", func(p *Profile) { p.Contactless.AppData = "0000000Z" }},
		{"protocol info long", "contactless.protocol_info", func(p *Profile) { p.Contactless.ProtocolInfo = "00818100" }},
		{"mbli", "contactless.mbli_cid", func(p *Profile) { p.Contactless.MBLICID = "800" }},
		{"card id short", "ssse.card_id", func(p *Profile) { p.SSSE.CardID = "411600D156000005" }},
		{"card id bad hex", "ssse.card_id", func(p *Profile) { p.SSSE.CardID = "411600D156000005005A3C9E17B2D4XX" }},
		{"category long", "ssse.category", func(p *Profile) { p.SSSE.Category = "33" }},
		{"category lower", "ssse.category", func(p *Profile) { p.SSSE.Category = "a" }},
		{"version form", "ssse.version", func(p *Profile) { p.SSSE.Version = "300." }},
		{"version zero", "ssse.version", func(p *Profile) { p.SSSE.Version = "0.99" }},
		{"version text", "ssse.version", func(p *Profile) { p.SSSE.Version = "v3" }},
		{"institution", "ssse.institution", func(p *Profile) { p.SSSE.Institution = "4116" }},
		{"issue date", "ssse.issue_date", func(p *Profile) { p.SSSE.IssueDate = "20240230" }},
		{"issue date form", "ssse.issue_date", func(p *Profile) { p.SSSE.IssueDate = "2024-01-01" }},
		{"expiry date", "ssse.expiry_date", func(p *Profile) { p.SSSE.ExpiryDate = "2034011" }},
		{"expiry before issue", "ssse.expiry_date", func(p *Profile) { p.SSSE.ExpiryDate = "20231231" }},
		{"card number short", "ssse.card_number", func(p *Profile) { p.SSSE.CardNumber = "A1234567" }},
		{"card number chars", "ssse.card_number", func(p *Profile) { p.SSSE.CardNumber = "a12345678" }},
		{"ssn short", "ssse.ssn", func(p *Profile) { p.SSSE.SSN = "41160219900101123" }},
		{"ssn X inside", "ssse.ssn", func(p *Profile) { p.SSSE.SSN = "4116021990010X1232" }},
		{"ssn letters", "ssse.ssn", func(p *Profile) { p.SSSE.SSN = "41160219900101123A" }},
		{"name missing", "ssse.name", func(p *Profile) { p.SSSE.Name = "" }},
		{"name not GBK", "ssse.name", func(p *Profile) { p.SSSE.Name = "张𠀀" }},
		{"name emoji", "ssse.name", func(p *Profile) { p.SSSE.Name = "张三😀" }},
		{"name too long", "ssse.name", func(p *Profile) { p.SSSE.Name = strings.Repeat("张", 16) }},
		{"name control", "ssse.name", func(p *Profile) { p.SSSE.Name = "张\n三" }},
		{"name ext too long", "ssse.name_ext", func(p *Profile) { p.SSSE.NameExt = strings.Repeat("a", 21) }},
		{"name ext not GBK", "ssse.name_ext", func(p *Profile) { p.SSSE.NameExt = "𠀀" }},
		{"padding", "ssse.name_padding", func(p *Profile) { p.SSSE.NamePadding = "tab" }},
		{"sex", "ssse.sex", func(p *Profile) { p.SSSE.Sex = "3" }},
		{"sex letter", "ssse.sex", func(p *Profile) { p.SSSE.Sex = "M" }},
		{"ethnicity", "ssse.ethnicity", func(p *Profile) { p.SSSE.Ethnicity = "1" }},
		{"ethnicity hex", "ssse.ethnicity", func(p *Profile) { p.SSSE.Ethnicity = "0A" }},
		{"birthplace short", "ssse.birthplace", func(p *Profile) { p.SSSE.Birthplace = "4116" }},
		{"birthplace F inside", "ssse.birthplace", func(p *Profile) { p.SSSE.Birthplace = "41F602" }},
		{"birthplace hex", "ssse.birthplace", func(p *Profile) { p.SSSE.Birthplace = "4116AB" }},
		{"birth date", "ssse.birth_date", func(p *Profile) { p.SSSE.BirthDate = "19901301" }},
		{"pin short", "ssse.pin", func(p *Profile) { p.SSSE.PIN = "1234" }},
		{"pin letters", "ssse.pin", func(p *Profile) { p.SSSE.PIN = "12345a" }},
		{"pin tries", "ssse.pin_tries", func(p *Profile) { p.SSSE.PINTries = 16 }},
		{"pin tries negative", "ssse.pin_tries", func(p *Profile) { p.SSSE.PINTries = -1 }},
		{"hukou type", "ssse.public.hukou_type", func(p *Profile) { p.SSSE.Public.HukouType = "1" }},
		{"hukou address", "ssse.public.hukou_address", func(p *Profile) { p.SSSE.Public.HukouAddress = strings.Repeat("街", 41) }},
		{"hukou address control", "ssse.public.hukou_address", func(p *Profile) { p.SSSE.Public.HukouAddress = "a\nb" }},
		{"hukou region", "ssse.public.hukou_region", func(p *Profile) { p.SSSE.Public.HukouRegion = "41160F" }},
		{"residence address", "ssse.public.residence_address", func(p *Profile) { p.SSSE.Public.ResidenceAddress = "\u00e9\u0800\U0001F600" }},
		{"residence region", "ssse.public.residence_region", func(p *Profile) { p.SSSE.Public.ResidenceRegion = "4116021" }},
		{"fingerprint size", "ssse.fingerprint_size", func(p *Profile) { p.SSSE.FingerprintSize = 0x8000 }},
		{"fingerprint size negative", "ssse.fingerprint_size", func(p *Profile) { p.SSSE.FingerprintSize = -1 }},
		{"photo", "ssse.photo", func(p *Profile) { p.SSSE.Photo = "me.jpg" }},
		{"pki pin", "pki.pin", func(p *Profile) { p.PKI.PIN = "12345" }},
		{"pki pin letters", "pki.pin", func(p *Profile) { p.PKI.PIN = "12345x" }},
		{"pki pin tries", "pki.pin_tries", func(p *Profile) { p.PKI.PINTries = 16 }},
		{"pki cert common name", "pki.cert_common_name", func(p *Profile) { p.PKI.CertCommonName = " \t" }},
		{"pboc pan luhn", "pboc.pan", func(p *Profile) { p.PBOC.PAN = "6217991000001234562" }},
		{"pboc pan short", "pboc.pan", func(p *Profile) { p.PBOC.PAN = "62179910" }},
		{"pboc pan letters", "pboc.pan", func(p *Profile) { p.PBOC.PAN = "621799100000123456A" }},
		{"pboc psn", "pboc.psn", func(p *Profile) { p.PBOC.PSN = "1" }},
		{"pboc expiry", "pboc.expiry_date", func(p *Profile) { p.PBOC.ExpiryDate = "311231" }},
		{"pboc expiry year", "pboc.expiry_date", func(p *Profile) { p.PBOC.ExpiryDate = "21001231" }},
		{"pboc expiry before effective", "pboc.expiry_date", func(p *Profile) { p.PBOC.ExpiryDate = "20201231" }},
		{"pboc effective", "pboc.effective_date", func(p *Profile) { p.PBOC.EffectiveDate = "20211301" }},
		{"pboc name", "pboc.cardholder_name", func(p *Profile) { p.PBOC.CardholderName = "张三" }},
		{"pboc name long", "pboc.cardholder_name", func(p *Profile) { p.PBOC.CardholderName = strings.Repeat("A", 27) }},
		{"pboc balance", "pboc.balance", func(p *Profile) { p.PBOC.Balance = "5.001" }},
		{"pboc balance over limit", "pboc.balance", func(p *Profile) { p.PBOC.Balance = "1000.01" }},
		{"pboc balance limit", "pboc.balance_limit", func(p *Profile) { p.PBOC.BalanceLimit = "-1" }},
		{"pboc single limit", "pboc.single_limit", func(p *Profile) { p.PBOC.SingleLimit = "12345678901" }},
		{"pboc reset threshold", "pboc.reset_threshold", func(p *Profile) { p.PBOC.ResetThreshold = "1." }},
		{"pboc blocked hex", "pboc.blocked_aids", func(p *Profile) { p.PBOC.BlockedAIDs = []string{"A0000003330101XY"} }},
		{"pboc blocked unknown", "pboc.blocked_aids", func(p *Profile) { p.PBOC.BlockedAIDs = []string{"A000000333010102"} }},
		{"pboc disabled still validated", "pboc.psn", func(p *Profile) { p.PBOC.Enabled, p.PBOC.PSN = false, "x1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := Builtin("gen3")
			tt.edit(p)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("Validate: %v, want an error about %s", err, tt.field)
			}
			if _, err := New(p, Options{}); err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("New: %v, want an error about %s", err, tt.field)
			}
			j, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseProfile(j, "json"); err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("JSON: %v, want an error about %s", err, tt.field)
			}
			y, err := yaml.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseProfile(y, "yaml"); err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("YAML: %v, want an error about %s", err, tt.field)
			}
		})
	}
}

// TestProfileNewFieldDefaults: extended length and the PKI application
// follow the generation unless the profile says otherwise.
func TestProfileNewFieldDefaults(t *testing.T) {
	for _, tt := range []struct {
		name          string
		extended, pki bool
	}{{"gen2", false, false}, {"gen3", true, true}} {
		p, _ := Builtin(tt.name)
		if p.ExtendedLength == nil || *p.ExtendedLength != tt.extended {
			t.Errorf("%s: extended_length %v", tt.name, p.ExtendedLength)
		}
		if p.PKI == nil || p.PKI.Enabled != tt.pki || p.PKI.PIN != "123456" || p.PKI.PINTries != 3 {
			t.Errorf("%s: pki %+v", tt.name, p.PKI)
		}
		if p.SSSE.FingerprintSize != 0x300 || p.SSSE.Photo != "builtin" || p.SSSE.Public == nil || p.SSSE.Public.HukouType == "" {
			t.Errorf("%s: ssse %+v", tt.name, p.SSSE)
		}
	}
	// A bare profile without the new sections gets them from the version.
	p, _ := Builtin("gen3")
	p.ExtendedLength, p.PKI, p.SSSE.Public, p.SSSE.FingerprintSize, p.SSSE.Photo = nil, nil, nil, 0, ""
	p.SSSE.Version = "2.00"
	q := p.withDefaults()
	if *q.ExtendedLength || q.PKI.Enabled {
		t.Errorf("version 2.00: extended %v, pki %+v", *q.ExtendedLength, q.PKI)
	}
	p.SSSE.Version = "3.10"
	if q := p.withDefaults(); !*q.ExtendedLength || !q.PKI.Enabled {
		t.Errorf("version 3.10: extended %v, pki %+v", *q.ExtendedLength, q.PKI)
	}
	// PKI on a 2nd-gen card, if a profile asks for it.
	g2, _ := Builtin("gen2")
	g2.PKI.Enabled = true
	c, err := New(g2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, step{selPKIADF, "6110"})
	// A disabled PKI section is still validated.
	g2.PKI.Enabled, g2.PKI.PIN = false, "1"
	if err := g2.Validate(); err == nil || !strings.Contains(err.Error(), "pki.pin:") {
		t.Errorf("disabled pki with a bad pin: %v", err)
	}
}

func TestProfileAllErrors(t *testing.T) {
	p, _ := Builtin("gen3")
	p.SSSE.CardID, p.SSSE.Sex = "", "x"
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "ssse.card_id") || !strings.Contains(err.Error(), "ssse.sex") {
		t.Errorf("Validate: %v, want both errors", err)
	}
	if err := (*Profile)(nil).Validate(); err == nil {
		t.Error("nil profile validated")
	}
}

func TestParseProfileSyntax(t *testing.T) {
	tests := []struct {
		name, format, data, want string
	}{
		{"bad JSON", "json", `{"name": "x",`, "JSON"},
		{"unknown JSON field", "json", `{"name": "x", "colour": "red"}`, "colour"},
		{"number in a JSON string field", "json", `{"name": "x", "ssse": {"version": 3.00}}`, "version"},
		{"trailing JSON", "json", `{"name": "x"} {}`, "after"},
		{"bad YAML", "yaml", "name: [x", "YAML"},
		{"unknown YAML field", "yaml", "name: x\ncolour: red\n", "colour"},
		{"unknown nested YAML field", "yml", "name: x\nssse:\n  cardid: 00\n", "cardid"},
		{"empty YAML", "yaml", "", "empty"},
		{"two YAML documents", "yaml", "name: x\n---\nname: y\n", "more than one"},
		{"YAML list", "yaml", "- a\n- b\n", "YAML"},
		{"unknown format", "toml", `name = "x"`, "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(tt.data), tt.format)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestYAMLPlainScalars: unquoted numbers in YAML stay text.
func TestYAMLPlainScalars(t *testing.T) {
	src := `name: plain
atr_historical: 008C544CB386844116005A3C9E
ssse:
  card_id: 411600D156000005005A3C9E17B2D40F
  category: 3
  version: 3.00
  institution: 411600000000000000000001
  issue_date: 20240101
  expiry_date: 20340101
  card_number: A12345678
  ssn: 411602199001011232
  name: 张三
  sex: 1
  ethnicity: 01
  birthplace: 4116FF
  birth_date: 19900101
  pin: 012345
`
	p, err := ParseProfile([]byte(src), ".YAML")
	if err != nil {
		t.Fatal(err)
	}
	if p.SSSE.Version != "3.00" || p.SSSE.Ethnicity != "01" || p.SSSE.PIN != "012345" || p.SSSE.Institution != "411600000000000000000001" {
		t.Errorf("%+v", p.SSSE)
	}
	c, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, step{selSSSENoFCI, "9000"}, step{"00B2063405", "6982"}, step{"00200000030123 45", "9000"})
	authenticate(t, c, 0x0A)
	run(t, c, step{"00B2063405", "0C034116FF9000"})
}

func TestNamePadding(t *testing.T) {
	p, _ := Builtin("gen2")
	p.SSSE.NamePadding = "zero"
	p.SSSE.NameExt = "A"
	c, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, step{selSSSENoFCI, "9000"},
		step{"00B2093020", "091EB4F7C8FCD1C2" + strings.Repeat("00", 24) + "9000"},
		step{"00B24E3016", "4E1441" + strings.Repeat("00", 19) + "9000"},
	)
	// A name of exactly 30 GBK bytes fits.
	p.SSSE.Name = strings.Repeat("张", 15)
	if _, err := New(p, Options{}); err != nil {
		t.Error(err)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	for _, n := range BuiltinNames() {
		p, _ := Builtin(n)
		j, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		pj, err := ParseProfile(j, "json")
		if err != nil {
			t.Fatalf("%s JSON: %v", n, err)
		}
		y, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		py, err := ParseProfile(y, "yaml")
		if err != nil {
			t.Fatalf("%s YAML: %v\n%s", n, err, y)
		}
		if !reflect.DeepEqual(p, pj) || !reflect.DeepEqual(p, py) {
			t.Errorf("%s: round trip differs:\n%+v\n%+v\n%+v", n, p, pj, py)
		}
	}
}

func TestLoadProfile(t *testing.T) {
	dir := t.TempDir()
	gen3, err := os.ReadFile("profiles/gen3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gen2, err := os.ReadFile("profiles/gen2.json")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"a.yaml": gen3, "b.yml": gen3, "c.json": gen2, "D.JSON": gen2,
		"bad.json": []byte(`{"name": "bad"}`), "card.txt": gen2,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a.yaml", "b.yml"} {
		p, err := LoadProfile(filepath.Join(dir, name))
		if err != nil || p.Name != "gen3" {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"c.json", "D.JSON"} {
		p, err := LoadProfile(filepath.Join(dir, name))
		if err != nil || p.Name != "gen2" {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, want := range map[string]string{"bad.json": "bad.json", "card.txt": "extension", "missing.yaml": "no such file"} {
		if _, err := LoadProfile(filepath.Join(dir, name)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to mention %q", name, err, want)
		}
	}
	// The shipped files are the built-ins.
	for file, name := range map[string]string{"profiles/gen3.yaml": "gen3", "profiles/gen2.json": "gen2", "profiles/gen3-blank.yaml": "gen3-blank"} {
		p, err := LoadProfile(file)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := Builtin(name); !reflect.DeepEqual(p, b) {
			t.Errorf("%s differs from Builtin(%q)", file, name)
		}
	}
}
