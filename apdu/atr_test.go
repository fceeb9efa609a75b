package apdu

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// sscATR is the ATR of a third-generation social security card: TB1 TC1, 13
// proprietary historical bytes, T=0 only, no TCK.
const sscATR = "3B6D00000081008843866533010114F199"

// withTCK appends the check byte that makes the XOR of T0..TCK zero.
func withTCK(s string) string {
	b := h(s)
	var x byte
	for _, c := range b[1:] {
		x ^= c
	}
	return hexOf(append(b, x))
}

func TestParseATR(t *testing.T) {
	tests := []struct {
		name       string
		atr        string
		protocols  []int
		fi, di     int
		egt        int
		hist       string
		tck        bool
		category   byte
		extended   bool
		status     string
		histErr    bool
		describeIn string // a substring of Describe
	}{
		{
			name: "SSC", atr: sscATR, protocols: []int{0}, fi: 372, di: 1,
			hist: "0081008843866533010114F199", histErr: true, describeIn: "proprietary",
		},
		{
			name: "PC/SC storage card", atr: "3B8F8001804F0CA000000306030001000000006A", protocols: []int{0, 1},
			fi: 372, di: 1, hist: "804F0CA00000030603000100000000", tck: true, category: 0x80,
			describeIn: "MIFARE Classic 1K",
		},
		{
			name: "ISO 14443-4 type B", atr: withTCK("3B888001 0000000033818100"), protocols: []int{0, 1},
			fi: 372, di: 1, hist: "0000000033818100", tck: true, histErr: true, describeIn: "not a valid ISO 7816-4",
		},
		{
			name: "JCOP T=1 with TA1", atr: "3BF81300008131FE454A434F5076323431B7", protocols: []int{1},
			fi: 372, di: 4, hist: "4A434F5076323431", tck: true, category: 0x4A, describeIn: "T=1",
		},
		{
			name: "category 80, extended length", atr: withTCK("3B8A8001 8031C073C021C0829000"), protocols: []int{0, 1},
			fi: 372, di: 1, hist: "8031C073C021C0829000", tck: true, category: 0x80, extended: true, status: "9000",
			describeIn: "extended length",
		},
		{
			name: "category 00", atr: "3B0A0031C073C00140009000", protocols: []int{0},
			fi: 372, di: 1, hist: "0031C073C00140009000", category: 0x00, extended: true, status: "009000",
			describeIn: "card capabilities",
		},
		{
			name: "category 10", atr: "3B021005", protocols: []int{0}, fi: 372, di: 1, hist: "1005", category: 0x10,
			describeIn: "DIR data reference 05",
		},
		{
			name: "inverse, TA1 and TC1", atr: "3F5396FF0231C0", protocols: []int{0}, fi: 512, di: 32, egt: 255,
			hist: "0231C0", category: 0x02, describeIn: "inverse convention",
		},
		{
			name: "T=15 needs TCK", atr: withTCK("3B80801F07"), protocols: []int{0}, fi: 372, di: 1, tck: true,
			describeIn: "TA3=07",
		},
		{
			name: "minimal", atr: "3B00", protocols: []int{0}, fi: 372, di: 1, describeIn: "no historical bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseATR(h(tt.atr))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Protocols(); !slices.Equal(got, tt.protocols) {
				t.Errorf("Protocols = %v, want %v", got, tt.protocols)
			}
			if a.Fi() != tt.fi || a.Di() != tt.di || a.ExtraGuardTime() != tt.egt {
				t.Errorf("Fi %d Di %d EGT %d", a.Fi(), a.Di(), a.ExtraGuardTime())
			}
			if hexOf(a.Historical) != tt.hist || a.HasTCK != tt.tck {
				t.Errorf("historical %X, TCK %v", a.Historical, a.HasTCK)
			}
			if a.String() != tt.atr {
				t.Errorf("String = %s", a)
			}
			hb, err := a.HistoricalBytes()
			if (err != nil) != tt.histErr {
				t.Errorf("HistoricalBytes error = %v", err)
			}
			if err == nil && (hb.Category != tt.category || hexOf(hb.Status) != tt.status) {
				t.Errorf("category %02X status %X", hb.Category, hb.Status)
			}
			if a.ExtendedLength() != tt.extended {
				t.Errorf("ExtendedLength = %v", a.ExtendedLength())
			}
			desc := strings.Join(a.Describe(), "\n")
			if !strings.Contains(desc, tt.describeIn) {
				t.Errorf("Describe lacks %q:\n%s", tt.describeIn, desc)
			}
			js, err := json.Marshal(a.Info())
			if err != nil || !strings.Contains(string(js), `"atr":"`+tt.atr+`"`) {
				t.Errorf("JSON %s, %v", js, err)
			}
		})
	}
}

func TestATRDefaultProtocol(t *testing.T) {
	tests := []struct {
		name string
		atr  string
		want int
	}{
		{"SSC, T=0 only", sscATR, 0},
		{"minimal", "3B00", 0},
		{"JCOP T=1", "3BF81300008131FE454A434F5076323431B7", 1},
		{"T=1 first, then T=0", withTCK("3B808100"), 1},
		{"PC/SC contactless storage card", "3B8F8001804F0CA000000306030001000000006A", 1},
		{"PC/SC contactless ISO 14443-4", withTCK("3B888001 0000000033818100"), 1},
		// Only TD1 = 80 exactly is the contactless rule: T=0 with TB2 before
		// T=1 offers T=0 first.
		{"T=0 then T=1, not contactless", withTCK("3B80A00001"), 0},
		{"T=0 then T=15", withTCK("3B80801F07"), 0},
	}
	for _, tt := range tests {
		a, err := ParseATR(h(tt.atr))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := a.DefaultProtocol(); got != tt.want {
			t.Errorf("%s: T=%d, want T=%d", tt.name, got, tt.want)
		}
	}
}

func TestATRInterfaceBytes(t *testing.T) {
	a, err := ParseATR(h("3BF81300008131FE454A434F5076323431B7"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		get  func(int) (byte, bool)
		i    int
		want byte
		ok   bool
	}{
		{a.TA, 1, 0x13, true}, {a.TB, 1, 0x00, true}, {a.TC, 1, 0x00, true}, {a.TD, 1, 0x81, true},
		{a.TA, 2, 0, false}, {a.TD, 2, 0x31, true},
		{a.TA, 3, 0xFE, true}, {a.TB, 3, 0x45, true}, {a.TC, 3, 0, false}, {a.TD, 3, 0, false},
		{a.TA, 0, 0, false}, {a.TA, 4, 0, false},
	}
	for i, c := range checks {
		if v, ok := c.get(c.i); v != c.want || ok != c.ok {
			t.Errorf("check %d: %02X %v", i, v, ok)
		}
	}
	if len(a.Groups) != 3 || a.Inverse() {
		t.Errorf("%d groups, inverse %v", len(a.Groups), a.Inverse())
	}
	info := a.Info()
	if info.Interface[2].TA != "FE" || info.Interface[2].TC != "" || info.TCK != "B7" || info.Convention != "direct" {
		t.Errorf("Info = %+v", info)
	}
}

func TestATRSSCInfo(t *testing.T) {
	a, err := ParseATR(h(sscATR))
	if err != nil {
		t.Fatal(err)
	}
	in := a.Info()
	if in.Historical.Raw != "0081008843866533010114F199" || in.TCK != "" || len(in.Interface) != 1 ||
		in.Interface[0].TB != "00" || in.Interface[0].TC != "00" || in.Interface[0].TA != "" {
		t.Errorf("Info = %+v", in)
	}
}

func TestParseATRErrors(t *testing.T) {
	tests := []struct {
		name, atr string
		want      error
	}{
		{"empty", "", ErrMalformedATR},
		{"TS only", "3B", ErrMalformedATR},
		{"bad TS", "3A00", ErrMalformedATR},
		{"too long", "3B0F" + strings.Repeat("00", 15) + strings.Repeat("00", 17), ErrMalformedATR},
		{"truncated interface bytes", "3BF813", ErrMalformedATR},
		{"truncated historical bytes", "3B6D000000810088", ErrMalformedATR},
		{"missing TCK", "3B8001", ErrMalformedATR},
		{"wrong TCK", "3B8F8001804F0CA000000306030001000000006B", ErrATRChecksum},
		{"trailing byte", sscATR + "00", ErrMalformedATR},
		{"TCK on T=0 only", withTCK("3B021005"), ErrMalformedATR},
	}
	for _, tt := range tests {
		if a, err := ParseATR(h(tt.atr)); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseATR = %v, %v; want %v", tt.name, a, err, tt.want)
		}
	}
}

func TestATRPrefixes(t *testing.T) {
	for _, s := range []string{sscATR, "3B8F8001804F0CA000000306030001000000006A", "3BF81300008131FE454A434F5076323431B7", withTCK("3B80801F07")} {
		enc := h(s)
		for n := range len(enc) {
			if _, err := ParseATR(enc[:n]); !errors.Is(err, ErrMalformedATR) {
				t.Errorf("prefix %X accepted", enc[:n])
			}
		}
	}
}

func FuzzParseATR(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseATR(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedATR) {
				t.Fatalf("error %v does not wrap ErrMalformedATR", err)
			}
			return
		}
		if len(b) > MaxATRLen || a.String() != hexOf(b) {
			t.Fatalf("accepted %X as %s", b, a)
		}
		if len(a.Protocols()) == 0 || len(a.Describe()) == 0 {
			t.Fatal("empty description")
		}
		a.ExtendedLength()
		if _, err := json.Marshal(a.Info()); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParseATR(b *testing.B) {
	atr := h(sscATR)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseATR(atr); err != nil {
			b.Fatal(err)
		}
	}
}
