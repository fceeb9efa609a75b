package apdu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		in, want string
		redacted bool
	}{
		{"0020000003123456", "0020000003FFFFFF", true},                       // VERIFY
		{"0020008108 2412345FFFFFFFFF", "0020008108 FFFFFFFFFFFFFFFF", true}, // VERIFY format 2 block
		{"00200000", "00200000", false},                                      // retry counter query
		{"0021000003123456", "0021000003FFFFFF", true},
		{"0024000006123456123456", "0024000006FFFFFFFFFFFF", true}, // CHANGE REFERENCE DATA
		{"842C000003123456", "842C000003FFFFFF", true},             // RESET RETRY COUNTER, SM class
		{"002D000003123456 00", "002D000003FFFFFF 00", true},       // Le kept
		{"0020000000 0003 123456", "0020000000 0003 FFFFFF", true}, // extended
		{"0020000000 0003 123456 0000", "0020000000 0003 FFFFFF 0000", true},
		{"80C4010305C10312345600", "80C4010305FFFFFFFFFF00", true},  // SSC PIN hash
		{"845E000003123456", "845E000003FFFFFF", true},              // SM PIN change
		{"00C4010305C10312345600", "00C4010305C10312345600", false}, // C4 is PIN hash only in proprietary classes
		{"005E000003123456", "005E000003123456", false},
		{"84D4010004 13000000", "84D4010004 FFFFFFFF", true}, // master key update
		{"80C2C00104 CB200102", "80C2C00104 FFFFFFFF", true}, // private key import
		{"804E000104 C2020013", "804E000104 FFFFFFFF", true}, // enveloped key import
		{"804A021004 C1100102", "804A021004 FFFFFFFF", true}, // session key load
		{"00A40000023F00", "00A40000023F00", false},
		{"00200000 123456", "00200000 FFFFFF", true}, // malformed: everything after the header
		{"002000", "002000", false},
		{"", "", false},
	}
	for _, tt := range tests {
		in := h(tt.in)
		orig := bytes.Clone(in)
		out, red := Redact(in)
		if hexOf(out) != hexOf(h(tt.want)) || red != tt.redacted {
			t.Errorf("Redact(%s) = %X, %v; want %s, %v", tt.in, out, red, tt.want, tt.redacted)
		}
		if !bytes.Equal(in, orig) {
			t.Errorf("Redact modified its input")
		}
		if len(out) > 0 && &out[0] == &in[0] {
			t.Errorf("Redact returned its input")
		}
	}
}

func TestTextTracer(t *testing.T) {
	tests := []struct {
		ev   TraceEvent
		want string
	}{
		{
			TraceEvent{Command: h("00A40000023F00"), Response: h("6F02 8400 9000"), Duration: 120 * time.Microsecond},
			"> 00A4000002 3F00\n< 6F028400 9000  (0.12 ms)\n",
		},
		{
			TraceEvent{Command: h("00B0950000"), Response: h("6A82"), Duration: time.Millisecond},
			"> 00B09500 00\n< 6A82  (1.00 ms)\n",
		},
		{
			TraceEvent{Command: h("0020000003FFFFFF"), Response: h("63C2"), Redacted: true},
			"> 0020000003 ******\n< 63C2  (0.00 ms)\n",
		},
		{
			TraceEvent{Command: h("0084000000 0000"), Response: h("9000")},
			"> 00840000 000000\n< 9000  (0.00 ms)\n",
		},
		{
			TraceEvent{Command: h("0020000000 0002 FFFF 0000"), Response: h("9000"), Redacted: true},
			"> 00200000000002 **** 0000\n< 9000  (0.00 ms)\n",
		},
		{
			TraceEvent{Command: h("00200000FFFF"), Redacted: true, Err: errUnplugged},
			"> 00200000 ****\n< error: reader unplugged  (0.00 ms)\n",
		},
		{
			TraceEvent{Command: h("0020000003123456"), Response: h("9000")}, // not redacted by a Transmitter
			"> 0020000003 ******\n< 9000  (0.00 ms)\n",
		},
		{
			TraceEvent{Command: h("0084"), Response: h("90"), Err: ErrMalformedResponse},
			"> 0084\n< error: apdu: malformed response  (0.00 ms)\n",
		},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		NewTextTracer(&buf)(tt.ev)
		if buf.String() != tt.want {
			t.Errorf("got %q\nwant %q", buf.String(), tt.want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestTextTracerWriteError(t *testing.T) {
	NewTextTracer(failWriter{})(TraceEvent{Command: h("00840000"), Response: h("9000")}) // must not panic
}

func TestTextTracerConcurrent(t *testing.T) {
	var buf bytes.Buffer
	tr := NewTextTracer(&buf)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				tr(TraceEvent{Command: h("00840000 08"), Response: h("0102030405060708 9000")})
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := strings.Count(buf.String(), "> 00840000 08\n< 0102030405060708 9000  (0.00 ms)\n"); n != 200 {
		t.Fatalf("%d intact line pairs, want 200", n)
	}
}

// checkRedact checks Redact and the text trace of any byte string: same
// length, header kept, no PIN data left. FuzzParseCommand calls it.
func checkRedact(t *testing.T, b []byte) {
	out, red := Redact(b)
	if len(out) != len(b) || !bytes.Equal(out[:min(4, len(b))], b[:min(4, len(b))]) {
		t.Fatalf("Redact(%X) = %X", b, out)
	}
	pin := len(b) > 4 && carriesPIN(b[0], b[1])
	if red && !pin {
		t.Fatalf("Redact(%X) redacted a command without PIN", b)
	}
	if c, err := ParseCommand(out); pin && err == nil && len(c.Data) > 0 {
		if !red || strings.Trim(hexOf(c.Data), "F") != "" {
			t.Fatalf("Redact(%X) = %X, %v", b, out, red)
		}
	}
	var log bytes.Buffer
	NewTextTracer(&log)(TraceEvent{Command: b, Response: b})
	if pin && len(b) > 4 && strings.Contains(log.String(), "> "+hexOf(b)) {
		t.Fatalf("PIN command traced as is: %s", log.String())
	}
}
