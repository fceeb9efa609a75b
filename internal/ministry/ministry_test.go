package ministry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sscard"
)

func TestParseAddress(t *testing.T) {
	a, err := ParseAddress("SSSE|EF05|01|07|EF06|08|09|")
	if err != nil {
		t.Fatal(err)
	}
	want := sscard.FieldCardID | sscard.FieldCardNumber | sscard.FieldSSN | sscard.FieldName
	if a.Fields() != want {
		t.Fatalf("fields %b, want %b", a.Fields(), want)
	}
	info := &sscard.BasicInfo{CardID: []byte{0xAB, 0x01}, CardNumber: "A1", SSN: "S", Name: "张三"}
	if got := a.Format(info); got != "AB01|A1|S|张三|" {
		t.Fatalf("Format = %q", got)
	}
	for _, bad := range []string{"", "|", "SSSE|", "SSSE|EF05|", "SSSE|EF05|01", "SSSE|EF05|08|", "SSSE|EF05|01|01|",
		"SSSE|01|", "PKI|EF05|01|", "ssse|ef05|01|", "SSSE|EF05|EF06|08|", "SSSE|EF05|4e|", "SSSE|EF07|01|",
		"SSSE|EF05|01||", strings.Repeat("SSSE|EF05|01|", 30)} {
		if _, err := ParseAddress(bad); !errors.Is(err, ErrAddressSyntax) {
			t.Errorf("ParseAddress(%q) = %v, want ErrAddressSyntax", bad, err)
		}
	}
}

// FuzzParseAddress: never panics; what parses formats back to as many
// fields as items and re-parses its own canonical form.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"SSSE|EF05|01|07|EF06|08|09|", "SSSE|EF06|4E|0D|", "SSSE|EF05|", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if len(s) > MaxAddress || len(a.items) == 0 {
			t.Fatalf("accepted %q", s)
		}
		if n := strings.Count(a.Format(&sscard.BasicInfo{}), "|"); n != len(a.items) {
			t.Fatalf("%d fields for %d items", n, len(a.items))
		}
	})
}

// FuzzParseKey: the step-2 key parser never panics, refuses anything
// longer than MaxKeyIn, and accepts only RESULT1|RESULT2| that formats
// back to itself (uppercase).
func FuzzParseKey(f *testing.F) {
	f.Add(strings.Repeat("0", 32) + "|" + strings.Repeat("F", 32) + "|")
	f.Add("98ABD5279E9CD3306183AFC81BE3C72E|40B69F2C478028DC1594A8CC187E1FE9|\r\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseKey(s)
		if err != nil {
			return
		}
		if len(s) > MaxKeyIn {
			t.Fatalf("accepted %d bytes", len(s))
		}
		if !strings.EqualFold(strings.TrimRight(s, "\r\n"), k.String()) {
			t.Fatalf("%q parsed as %q", s, k.String())
		}
	})
}

func TestParseCardInfo(t *testing.T) {
	id := "411600D156000005C38275EEFC9B9648"
	if b, err := parseCardInfo(id); err != nil || len(b) != 16 {
		t.Fatalf("%v %x", err, b)
	}
	bas := "411600|||" + id + "||008C544CB386844116018593CA|3.00|20211203|20311202|"
	if b, err := parseCardInfo(bas); err != nil || strings.ToUpper(string(upper(b))) != id {
		t.Fatalf("%v %x", err, b)
	}
	for _, bad := range []string{"xyz", strings.ToLower(id), id + "0", "1|2|", strings.Repeat("A", 2000)} {
		if _, err := parseCardInfo(bad); !errors.Is(err, errArg) {
			t.Errorf("parseCardInfo(%q) = %v", bad, err)
		}
	}
}

func TestEncodeLimits(t *testing.T) {
	code, b := Encode(Result{Out: "张三|"}, 16, false)
	if code != OK || string(b) != "\xD5\xC5\xC8\xFD|" {
		t.Fatalf("GBK: %d %q", code, b)
	}
	code, b = Encode(Result{Out: strings.Repeat("x", MaxOutInfo)}, MaxOutInfo, true)
	if code != ErrOutputTooLong || len(b)+1 > MaxOutInfo {
		t.Fatalf("too long: %d %d bytes", code, len(b))
	}
	code, b = Encode(Result{Out: strings.Repeat("x", MaxOutInfo-1)}, MaxOutInfo, true)
	if code != OK || len(b) != MaxOutInfo-1 {
		t.Fatalf("exact fit: %d %d", code, len(b))
	}
	code, _ = Encode(Result{Out: "\U0001F600"}, 64, false) // not in GBK
	if code == OK {
		t.Fatal("unencodable answer reported as success")
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "libsscard.conf")
	os.WriteFile(file, []byte("# c\nreader = Virtual PCD\nhsm_timeout = 5s\ninitial_pin = 654321\ncharset = utf-8\n"), 0o644)
	c, err := LoadConfig(env(map[string]string{"SSC_CONFIG": file, "SSC_READER": "sim", "SSC_OP_TIMEOUT": "10"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Reader != "sim" || c.HSMTimeout != 5*time.Second || c.OpTimeout != 10*time.Second || c.InitialPIN != "654321" || !c.UTF8 {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"nokey\n", "colour = red\n", "charset = latin1\n", "initial_pin = 12\n", "hsm_timeout = -1s\n", "direct = maybe\n"} {
		os.WriteFile(file, []byte(bad), 0o644)
		_, err := LoadConfig(env(map[string]string{"SSC_CONFIG": file}))
		if !errors.Is(err, ErrConfigFile) {
			t.Errorf("%q: %v", bad, err)
		}
		if strings.Contains(bad, "initial_pin") && strings.Contains(configDetail(err), "12") {
			t.Errorf("the message shows the PIN: %v", configDetail(err))
		}
	}
	if _, err := LoadConfig(env(map[string]string{"SSC_CONFIG": filepath.Join(dir, "missing")})); err == nil {
		t.Error("a named missing file must fail")
	}
}

// TestLibSim runs the library in-process on the built-in software card:
// argument checks, iType mapping, the HSM flow state.
func TestLibSim(t *testing.T) {
	l := New(env(map[string]string{"SSC_CONFIG": filepath.Join(t.TempDir(), "none"), "SSC_READER": "sim"}))
	if r := l.ReadCardBas(1); r.Code != ErrConfig {
		t.Fatalf("missing named config: %+v", r)
	}
	conf := filepath.Join(t.TempDir(), "c.conf")
	os.WriteFile(conf, nil, 0o644)
	l = New(env(map[string]string{"SSC_CONFIG": conf, "SSC_READER": "sim", "SSC_HSM": "sim", "SSC_CHARSET": "utf-8", "SSC_HSM_TIMEOUT": "1s"}))
	free := l.ReadCardBas(3)
	if free.Code != OK || !strings.HasPrefix(free.Out, "411600|||") {
		t.Fatalf("%+v", free)
	}
	for _, it := range []int{0, 5, -1} {
		if r := l.ReadCardBas(it); r.Code != ErrIType {
			t.Fatalf("iType %d: %+v", it, r)
		}
	}
	full := l.ReadCardBasHSM(4)
	s1 := l.ReadCardBasStep1(2)
	st, err := sscard.ParseStep1(s1.Out)
	if err != nil {
		t.Fatal(err)
	}
	if r := l.ReadCardStep2("x"); r.Code != ErrKeyFormat {
		t.Fatalf("%+v", r)
	}
	if r := l.ReadCardBasStep1(1); r.Code != ErrBusy {
		t.Fatalf("%+v", r)
	}
	time.Sleep(1500 * time.Millisecond) // the step expires and frees the reader
	if r := l.ReadCardBas(1); r.Code != OK {
		t.Fatalf("after expiry: %+v", r)
	}
	if r := l.ReadCardBasStep2(sscard.Step2Input{}.String()); r.Code != ErrNoStep1 {
		t.Fatalf("%+v", r)
	}
	_ = st
	if full.Code != OK || strings.Contains(full.Out, "|||") {
		t.Fatalf("%+v", full)
	}
	if r := l.DoDebit(1); r.Code != ErrNotSupported {
		t.Fatalf("%+v", r)
	}
	if r := l.VerifyPIN(1); r.Code != ErrNoPINPad {
		t.Fatalf("software card reader has no keypad: %+v", r)
	}
}

// TestCodes: every code has a message and the table is complete.
func TestCodes(t *testing.T) {
	for _, c := range Codes() {
		if c.Message() == "" || strings.HasPrefix(c.Message(), "error ") {
			t.Errorf("code %d has no message", c)
		}
	}
	if codeOf(sscard.ErrPINLastTry) != ErrPINLastTry || codeOf(sscard.ErrCardNotGenuine) != ErrNotGenuine {
		t.Fatal("mapping")
	}
}
