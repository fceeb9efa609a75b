package link_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sscard/ssc/link"
)

const (
	goldenBundle    = "testdata/bundle-level2.json"
	goldenCanonical = "testdata/canonical-level2.hex"
)

// goldenBundleData is the golden level 2 bundle, built afresh: the SIM
// keys and certificates are derived and SM2 signatures are deterministic
// (RFC 6979), so the bytes are the same on every run.
func goldenBundleData(t testing.TB) []byte {
	t.Helper()
	b := testCard(t).bundle(t, link.Level2, testOrigin, testNonce())
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

func readGolden(t testing.TB, path string, fresh []byte) []byte {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, fresh, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./link -run Golden -update)", err)
	}
	return data
}

func TestGoldenBundle(t *testing.T) {
	fresh := goldenBundleData(t)
	data := readGolden(t, goldenBundle, fresh)
	if !bytes.Equal(data, fresh) {
		t.Errorf("%s differs from the bundle built now (signing or encoding changed?)", goldenBundle)
	}
	b, err := link.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := link.Verify(b, opts(t, testNonce()))
	if err != nil {
		t.Fatal(err)
	}
	if v.Bundle.Card.Name != "张三" || v.Bundle.Bank.PAN != "6217991000001234561" {
		t.Errorf("golden bundle: %+v", v.Bundle)
	}
}

func TestGoldenCanonical(t *testing.T) {
	b, err := link.ParseBundle(goldenBundleData(t))
	if err != nil {
		t.Fatal(err)
	}
	cd, err := link.CanonicalCardData(b)
	if err != nil {
		t.Fatal(err)
	}
	fresh := []byte(strings.ToUpper(hex.EncodeToString(cd)) + "\n")
	data := readGolden(t, goldenCanonical, fresh)
	if !bytes.Equal(data, fresh) {
		t.Errorf("%s: canonical card data changed:\n got %s\nwant %s", goldenCanonical, fresh, data)
	}
	t.Logf("canonical card data: %s", fresh)
	// Spot checks of the layout (docs/link.md).
	if !bytes.HasPrefix(cd, []byte("SSC-LINK\x01\x02\x07card_id\x00\x20411600D1")) {
		t.Errorf("canonical data starts %X", cd[:32])
	}
	if !bytes.HasSuffix(cd, []byte("\x0cbank.blocked\x00\x05false")) {
		t.Errorf("canonical data ends %X", cd[len(cd)-24:])
	}
	msg, err := link.SignedMessage(b)
	if err != nil || len(msg) != 96 {
		t.Fatalf("SignedMessage: %d bytes, %v", len(msg), err)
	}
}

func TestParseBundleMalformedJSON(t *testing.T) {
	good := goldenBundleData(t)
	if _, err := link.ParseBundle(good); err != nil {
		t.Fatal(err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, good); err != nil {
		t.Fatal(err)
	}
	c := compact.String()
	big := `{"pad":"` + strings.Repeat("x", link.MaxBundleSize) + `",` + c[1:]
	tests := []struct {
		name, data, msg string
	}{
		{"empty", "", "JSON"},
		{"null", "null", "version 0"},
		{"array", "[]", "JSON"},
		{"unknown field", strings.Replace(c, `{"version":1`, `{"version":1,"extra":true`, 1), `unknown field "extra"`},
		{"unknown card field", strings.Replace(c, `"card":{`, `"card":{"sex":"1",`, 1), "unknown field"},
		{"unknown bank field", strings.Replace(c, `"bank":{`, `"bank":{"psn":"01",`, 1), "unknown field"},
		{"trailing object", c + `{}`, "trailing data"},
		{"trailing garbage", c + " x", "trailing data"},
		{"two bundles", c + "\n" + c, "trailing data"},
		{"too big", big, "at most 65536"},
		{"truncated", c[:len(c)/2], "JSON"},
		{"truncated by one", c[:len(c)-1], "JSON"},
		{"bad hex nonce", strings.Replace(c, `"nonce":"`, `"nonce":"Z`, 1), "JSON"},
		{"bad base64 certificate", strings.Replace(c, `"certificates":["`, `"certificates":["!`, 1), "JSON"},
		{"string version", strings.Replace(c, `"version":1`, `"version":"1"`, 1), "JSON"},
		{"fraction level", strings.Replace(c, `"level":2`, `"level":2.5`, 1), "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := link.ParseBundle([]byte(tt.data))
			if !errors.Is(err, link.ErrMalformed) || b != nil {
				t.Fatalf("ParseBundle = %v, %v; want ErrMalformed", b, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
	// White space after the object is fine.
	if _, err := link.ParseBundle([]byte(c + " \n\t")); err != nil {
		t.Fatal(err)
	}
}

// Bundle.Check, rule by rule.
func TestCheck(t *testing.T) {
	c := testCard(t)
	tests := []struct {
		name   string
		change func(b *link.Bundle)
		msg    string // "" = must pass
	}{
		{"valid", func(b *link.Bundle) {}, ""},
		{"version 0", func(b *link.Bundle) { b.Version = 0 }, "version 0"},
		{"version 2", func(b *link.Bundle) { b.Version = 2 }, "version 2"},
		{"level 0", func(b *link.Bundle) { b.Level, b.Bank = 0, nil }, "level 0"},
		{"level 3", func(b *link.Bundle) { b.Level = 3 }, "level 3"},
		{"level 1 with bank", func(b *link.Bundle) { b.Level = 1 }, "level 1 bundle with a bank"},
		{"level 2 without bank", func(b *link.Bundle) { b.Bank = nil }, "level 2 bundle without"},
		{"alg", func(b *link.Bundle) { b.Proof.Alg = "ECDSA" }, "proof.alg"},
		{"alg empty", func(b *link.Bundle) { b.Proof.Alg = "" }, "proof.alg"},
		{"signature 63", func(b *link.Bundle) { b.Proof.Signature = b.Proof.Signature[:63] }, "proof.signature is 63"},
		{"signature 72 (DER)", func(b *link.Bundle) { b.Proof.Signature = make([]byte, 72) }, "proof.signature is 72"},
		{"no certificate", func(b *link.Bundle) { b.Proof.Certificates = nil }, "0 certificates"},
		{"empty certificate", func(b *link.Bundle) { b.Proof.Certificates = [][]byte{{}} }, "certificates[0] is empty"},
		{"9 certificates", func(b *link.Bundle) {
			for range 8 {
				b.Proof.Certificates = append(b.Proof.Certificates, b.Proof.Certificates[0])
			}
		}, "9 certificates"},
		{"nonce 31", func(b *link.Bundle) { b.Nonce = b.Nonce[:31] }, "nonce is 31 bytes"},
		{"nonce empty", func(b *link.Bundle) { b.Nonce = nil }, "nonce is 0 bytes"},
		{"nonce 256", func(b *link.Bundle) { b.Nonce = make([]byte, 256) }, ""},
		{"nonce 257", func(b *link.Bundle) { b.Nonce = make([]byte, 257) }, "nonce is 257 bytes"},
		{"origin", func(b *link.Bundle) { b.Origin = "https://ecard.example.cn/" }, "origin"},
		{"card_id short", func(b *link.Bundle) { b.Card.CardID = b.Card.CardID[:30] }, "card.card_id"},
		{"card_id long", func(b *link.Bundle) { b.Card.CardID += "00" }, "card.card_id"},
		{"card_id not hex", func(b *link.Bundle) { b.Card.CardID = "G" + b.Card.CardID[1:] }, "card.card_id"},
		{"card_id lower case", func(b *link.Bundle) { b.Card.CardID = strings.ToLower(b.Card.CardID) }, ""},
		{"card_number empty", func(b *link.Bundle) { b.Card.CardNumber = "" }, "card.card_number"},
		{"card_number control", func(b *link.Bundle) { b.Card.CardNumber = "A1\n" }, "card.card_number"},
		{"card_number non-ASCII", func(b *link.Bundle) { b.Card.CardNumber = "Ａ12345678" }, "card.card_number"},
		{"ssn 17", func(b *link.Bundle) { b.Card.SSN = b.Card.SSN[:17] }, "card.ssn"},
		{"ssn X", func(b *link.Bundle) { b.Card.SSN = b.Card.SSN[:17] + "X" }, ""},
		{"ssn x", func(b *link.Bundle) { b.Card.SSN = b.Card.SSN[:17] + "x" }, "card.ssn"},
		{"ssn X inside", func(b *link.Bundle) { b.Card.SSN = "X" + b.Card.SSN[1:] }, "card.ssn"},
		{"name empty", func(b *link.Bundle) { b.Card.Name = "" }, "card.name"},
		{"name invalid UTF-8", func(b *link.Bundle) { b.Card.Name = "\xff\xfe" }, "card.name"},
		{"name too long", func(b *link.Bundle) { b.Card.Name = strings.Repeat("张", 100) }, "card.name"},
		{"region 5", func(b *link.Bundle) { b.Card.Region = "41160" }, "card.region"},
		{"region letters", func(b *link.Bundle) { b.Card.Region = "41160A" }, "card.region"},
		{"spec_version control", func(b *link.Bundle) { b.Card.SpecVersion = "3.0\x00" }, "card.spec_version"},
		{"issue_date format", func(b *link.Bundle) { b.Card.IssueDate = "2024-01-01" }, "card.issue_date"},
		{"issue_date month 13", func(b *link.Bundle) { b.Card.IssueDate = "20241301" }, "card.issue_date"},
		{"expiry_date Feb 30", func(b *link.Bundle) { b.Card.ExpiryDate = "20340230" }, "card.expiry_date"},
		{"expiry_date leap day", func(b *link.Bundle) { b.Card.ExpiryDate = "20320229" }, ""},
		{"expiry_date signed", func(b *link.Bundle) { b.Card.ExpiryDate = "+2034010" }, "card.expiry_date"},
		{"bank.aid short", func(b *link.Bundle) { b.Bank.AID = "A0000003" }, "bank.aid"},
		{"bank.aid 5 bytes", func(b *link.Bundle) { b.Bank.AID = "A000000333" }, ""},
		{"bank.aid long", func(b *link.Bundle) { b.Bank.AID = strings.Repeat("A0", 17) }, "bank.aid"},
		{"bank.aid odd", func(b *link.Bundle) { b.Bank.AID = "A00000033301010" }, "bank.aid"},
		{"bank.aid not hex", func(b *link.Bundle) { b.Bank.AID = "A00000033301010X" }, "bank.aid"},
		{"bank.pan 11", func(b *link.Bundle) { b.Bank.PAN = "62179910000" }, "bank.pan"},
		{"bank.pan 12", func(b *link.Bundle) { b.Bank.PAN = "621799100000" }, ""},
		{"bank.pan 20", func(b *link.Bundle) { b.Bank.PAN = "62179910000012345612" }, "bank.pan"},
		{"bank.pan F padding", func(b *link.Bundle) { b.Bank.PAN = "621799100000123456F" }, "bank.pan"},
		{"bank.expiry YYYYMMDD", func(b *link.Bundle) { b.Bank.Expiry = "20311231" }, "bank.expiry"},
		{"bank.expiry day 32", func(b *link.Bundle) { b.Bank.Expiry = "311232" }, "bank.expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := c.bundle(t, link.Level2, testOrigin, testNonce())
			tt.change(b)
			err := b.Check()
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, link.ErrMalformed) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Check = %v; want ErrMalformed saying %q", err, tt.msg)
			}
		})
	}
	if err := (*link.Bundle)(nil).Check(); !errors.Is(err, link.ErrMalformed) {
		t.Fatalf("nil bundle: %v", err)
	}
}

func TestCheckOrigin(t *testing.T) {
	good := []string{
		"https://ecard.example.cn",
		"http://localhost",
		"http://localhost:8080",
		"https://ecard.example.cn:8443",
		"https://xn--fiqs8s.cn",
		"https://127.0.0.1",
		"https://10.0.0.1:65535",
		"https://[::1]",
		"https://[2001:db8::1]:8443",
		"https://a-b.c1",
		"https://" + strings.Repeat("a", 63) + ".cn",
	}
	bad := []string{
		"",
		"ecard.example.cn",
		"//ecard.example.cn",
		"HTTPS://ecard.example.cn",
		"Https://ecard.example.cn",
		"ftp://ecard.example.cn",
		"file:///etc/passwd",
		"https://",
		"https://ecard.example.cn/",
		"https://ecard.example.cn/path",
		"https://ecard.example.cn?q",
		"https://ecard.example.cn#f",
		"https://user@ecard.example.cn",
		"https://user:pw@ecard.example.cn",
		"https://ECARD.example.cn",
		"https://ecard.example.cn.",
		"https://ecard..example.cn",
		"https://-ecard.example.cn",
		"https://ecard-.example.cn",
		"https://ecard_x.example.cn",
		"https://电子社保.cn",
		"https://ecard.example.cn:",
		"https://ecard.example.cn:443",
		"http://ecard.example.cn:80",
		"https://ecard.example.cn:0",
		"https://ecard.example.cn:08443",
		"https://ecard.example.cn:65536",
		"https://ecard.example.cn:+443",
		"https://ecard.example.cn:8443:1",
		"https://ecard.example.cn\\evil",
		"https://ecard.example.cn ",
		"https://ecard.example.cn%2F",
		"https://256.0.0.1",
		"https://010.0.0.1",
		"https://1.2.3",
		"https://[::1",
		"https://[::1]x",
		"https://[0:0::1]",
		"https://[fe80::1%25eth0]",
		"https://[::1]:",
		"https://" + strings.Repeat("a", 64) + ".cn",
		"https://" + strings.Repeat("a.", 300) + "cn",
	}
	for _, o := range good {
		if err := link.CheckOrigin(o); err != nil {
			t.Errorf("CheckOrigin(%q) = %v", o, err)
		}
	}
	for _, o := range bad {
		if err := link.CheckOrigin(o); !errors.Is(err, link.ErrMalformed) {
			t.Errorf("CheckOrigin(%q) = %v, want ErrMalformed", o, err)
		}
	}
}

func FuzzParseBundle(f *testing.F) {
	good := goldenBundleData(f)
	f.Add(good)
	l1, _ := json.Marshal(testCard(f).bundle(f, link.Level1, "http://localhost:8080", bytes.Repeat([]byte{1}, 40)))
	f.Add(l1)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add(good[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := link.ParseBundle(data)
		if err != nil {
			if !errors.Is(err, link.ErrMalformed) || b != nil {
				t.Fatalf("ParseBundle = %v, %v", b, err)
			}
			return
		}
		if err := b.Check(); err != nil {
			t.Fatalf("accepted bundle fails Check: %v", err)
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := link.ParseBundle(again)
		if err != nil {
			t.Fatalf("re-encoded bundle rejected: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("re-encoded bundle differs:\n%+v\n%+v", b, b2)
		}
		cd1, err1 := link.CanonicalCardData(b)
		cd2, err2 := link.CanonicalCardData(b2)
		if err1 != nil || err2 != nil || !bytes.Equal(cd1, cd2) {
			t.Fatalf("canonical data: %v %v", err1, err2)
		}
	})
}
