package ministry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// simLib is a library on the built-in software card (3rd gen, in process)
// with the SIM key system and extra settings.
func simLib(t *testing.T, extra map[string]string) *Lib {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "c.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := map[string]string{"SSC_CONFIG": conf, "SSC_READER": "sim", "SSC_HSM": "sim", "SSC_CHARSET": "utf-8"}
	for k, v := range extra {
		e[k] = v
	}
	return New(env(e))
}

func want(t *testing.T, r Result, code Code, out string) Result {
	t.Helper()
	if r.Code != code || (out != "-" && r.Out != out) {
		t.Fatalf("got %d %q, want %d %q", r.Code, r.Out, code, out)
	}
	return r
}

// step1Answer and writeKeyAnswer are the HIS's key system.
func step1Answer(t *testing.T, line string) string {
	t.Helper()
	st, err := sscard.ParseStep1(line)
	if err != nil {
		t.Fatalf("step 1 line %q: %v", line, err)
	}
	ans, err := keysystem.SIM{}.Authenticate(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return ans.String()
}

func writeKeyAnswer(t *testing.T, line string) string {
	t.Helper()
	req, err := sscard.ParseWriteKeyRequest(line)
	if err != nil {
		t.Fatalf("write-key line %q: %v", line, err)
	}
	ans, err := keysystem.SIM{}.AuthorizeWrite(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return ans.String()
}

func flipFirst(s string) string {
	b := []byte(s)
	if b[0] == '0' {
		b[0] = '1'
	} else {
		b[0] = '0'
	}
	return string(b)
}

// TestWriteOff: without allow_write every write is -50 after the argument
// checks, and nothing reaches the card.
func TestWriteOff(t *testing.T) {
	l := simLib(t, nil)
	want(t, l.WriteCard(1, "", "SSSE|EF05|06|", "20391231|"), ErrWriteDisabled, "-")
	want(t, l.WriteCardStep1(1, "", "SSSE|EF05|06|"), ErrWriteDisabled, "-")
	want(t, l.WriteCardStep2(sscard.Step2Input{}.String(), "x|"), ErrWriteDisabled, "-")
	want(t, l.WriteCard(1, "", "SSSE|EF05|99|", "x|"), ErrAddress, "-")
	want(t, l.WriteCard(1, "XYZ", "SSSE|EF05|06|", "x|"), ErrArgFormat, "-")
	want(t, l.WriteCard(0, "", "SSSE|EF05|06|", "x|"), ErrIType, "-")
	want(t, l.WriteCard(1, "", "SSSE|EF05|06|", strings.Repeat("1", MaxCardInfoIn+1)), ErrArgFormat, "-")
}

// TestWriteSim: one-call and HSM-step writes on the software card, read
// back with iReadCard; refusals leave the card as it was.
func TestWriteSim(t *testing.T) {
	l := simLib(t, map[string]string{"SSC_ALLOW_WRITE": "1", "SSC_HSM_TIMEOUT": "1s"})
	id := want(t, l.ReadCard(1, AuthNone, "", "SSSE|EF05|01|"), OK, "-").Out
	id = strings.TrimSuffix(id, "|")

	want(t, l.WriteCard(1, id, "SSSE|EF05|06|EF06|09|", "20391231|张三丰|"), OK, "OK|")
	want(t, l.ReadCard(1, AuthKeySystem, "", "SSSE|EF06|09|EF05|06|"), OK, "张三丰|20391231|")

	// Not writable, wrong counts, invalid values: nothing sent.
	for _, a := range []string{"SSSE|EF05|02|", "SSSE|EF05|03|", "SSSE|EF06|0C|", "SSSE|EF06|09|0C|"} {
		want(t, l.WriteCard(1, "", a, "1|"), ErrNotWritable, "-")
		want(t, l.WriteCardStep1(1, "", a), ErrNotWritable, "-")
	}
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|", "a|b|"), ErrWriteData, "invalid pWriteData: 2 values for 1 data items")
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|EF05|06|", "a|"), ErrWriteData, "-")
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|", "a"), ErrWriteData, "-")
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|", "|"), ErrWriteData, "invalid pWriteData: name")
	want(t, l.WriteCard(1, "", "SSSE|EF06|0B|", "1|"), ErrWriteData, "invalid pWriteData: ethnicity")
	want(t, l.WriteCard(1, "", "SSSE|EF06|08|", "110101199001011234|"), ErrWriteData, "invalid pWriteData: ssn")
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|", "\xff\xfe|"), ErrWriteData, "invalid pWriteData: not UTF-8")
	want(t, l.WriteCard(1, strings.Repeat("0", 32), "SSSE|EF06|09|", "王五|"), ErrWrongCard, "-")

	// The HSM steps.
	s1 := want(t, l.WriteCardStep1(3, "", "SSSE|EF06|09|"), OK, "-").Out
	want(t, l.WriteCardStep1(3, "", "SSSE|EF06|09|"), ErrBusy, "-")
	want(t, l.WriteCardStep3(strings.Repeat("0", 32)+"|"), ErrStepOutOfOrder, "-")
	want(t, l.WriteCardStep2(step1Answer(t, s1), "王五|赵六|"), ErrWriteData, "-") // the flow stays
	s2 := want(t, l.WriteCardStep2(step1Answer(t, s1), "王五|"), OK, "-").Out
	want(t, l.WriteCardStep3("garbage"), ErrKeyFormat, "-")
	want(t, l.WriteCardStep3(writeKeyAnswer(t, s2)), OK, "OK|")
	want(t, l.ReadCard(1, AuthKeySystem, "", "SSSE|EF06|09|"), OK, "王五|")

	// A wrong write key: the card rejects it, nothing written, the flow
	// is over.
	s1 = want(t, l.WriteCardStep1(1, id, "SSSE|EF06|09|"), OK, "-").Out
	s2 = want(t, l.WriteCardStep2(step1Answer(t, s1), "赵六|"), OK, "-").Out
	want(t, l.WriteCardStep3(flipFirst(writeKeyAnswer(t, s2))), ErrExternalAuth, "-")
	want(t, l.WriteCardStep3(writeKeyAnswer(t, s2)), ErrNoStep1, "-")
	// A wrong read key: not genuine.
	s1 = want(t, l.WriteCardStep1(1, "", "SSSE|EF06|09|"), OK, "-").Out
	want(t, l.WriteCardStep2(flipFirst(step1Answer(t, s1)), "赵六|"), ErrNotGenuine, "-")
	// Invalid data found in step 2 (against the card's issue date).
	s1 = want(t, l.WriteCardStep1(1, "", "SSSE|EF05|06|"), OK, "-").Out
	want(t, l.WriteCardStep2(step1Answer(t, s1), "19000101|"), ErrWriteData, "invalid pWriteData: expiry_date")
	// A step 1 left alone expires and frees the reader.
	want(t, l.WriteCardStep1(1, "", "SSSE|EF06|09|"), OK, "-")
	time.Sleep(1500 * time.Millisecond)
	want(t, l.ReadCard(1, AuthKeySystem, "", "SSSE|EF06|09|EF05|06|"), OK, "王五|20391231|")
}

// TestWriteGBK: with the default charset pWriteData is GBK.
func TestWriteGBK(t *testing.T) {
	l := simLib(t, map[string]string{"SSC_ALLOW_WRITE": "1", "SSC_CHARSET": "gbk"})
	name, err := sscard.ToGBK("欧阳娜娜")
	if err != nil {
		t.Fatal(err)
	}
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|", string(name)+"|"), OK, "OK|")
	want(t, l.ReadCard(1, AuthKeySystem, "", "SSSE|EF06|09|"), OK, "欧阳娜娜|") // Result.Out is text; Encode makes GBK
	want(t, l.WriteCard(1, "", "SSSE|EF06|09|", "\xff|"), ErrWriteData, "invalid pWriteData: not GBK")
}

// FuzzWriteValues: the pWriteData splitter never panics and accepts only
// one value per item, none holding "|".
func FuzzWriteValues(f *testing.F) {
	f.Add("SSSE|EF06|09|EF05|06|", "张三|20391231|", false)
	f.Add("SSSE|EF06|09|", "\xd5\xc5\xc8\xfd|", true)
	f.Add("SSSE|EF05|07|", "|||", false)
	f.Fuzz(func(t *testing.T, fileAddr, data string, gbk bool) {
		addr, err := ParseAddress(fileAddr)
		if err != nil {
			return
		}
		l := &Lib{cfg: Config{UTF8: !gbk}}
		values, r, ok := l.writeValues(addr, data)
		if !ok {
			if r.Code != ErrWriteData {
				t.Fatalf("code %d", r.Code)
			}
			return
		}
		if len(values) != len(addr.items) {
			t.Fatalf("%d values for %d items", len(values), len(addr.items))
		}
		for _, v := range values {
			if strings.Contains(v, "|") {
				t.Fatalf("value with |")
			}
		}
	})
}
