package sscd

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func streamOf(b []byte) *EventStream {
	return &EventStream{body: io.NopCloser(bytes.NewReader(nil)), sc: eventScanner(bytes.NewReader(b))}
}

// hasBlankLine reports an empty line in b, its lines ended as SSE ends
// them (CRLF, LF or a lone CR): "data:x\n\r" has one.
func hasBlankLine(b []byte) bool {
	n := bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	n = bytes.ReplaceAll(n, []byte("\r"), []byte("\n"))
	return bytes.HasPrefix(n, []byte("\n")) || bytes.Contains(n, []byte("\n\n"))
}

// FuzzEventStream feeds the client's SSE parser a daemon's event stream:
// never a panic; every error is io.EOF or an "sscd:" error; an event is
// only returned after its blank line (a stream cut mid-event ends with
// io.EOF, not a partial event); an event written as one data line comes
// back equal.
func FuzzEventStream(f *testing.F) {
	f.Add([]byte("event: readers\ndata: {\"type\":\"snapshot\",\"readers\":[{\"name\":\"r0\",\"card_present\":true}]}\n\n: keep-alive\n\n"))
	f.Add([]byte("data: {\"type\":\"inserted\",\"reader\":{\"name\":\"r0\"}}\n\ndata: {\"type\":\"removed\"\ndata: }\n\n"))
	f.Add([]byte("data: {\"type\":\"inserted\"}\n")) // cut before the blank line
	f.Add([]byte("data: not json\n\n"))
	f.Add([]byte("data: {\"type\":\"inserted\"}\r\r")) // lone CRs end lines too
	f.Add([]byte("data: {\"type\":\"inserted\"}\n\r")) // LF, then an empty line ended by CR
	f.Fuzz(func(t *testing.T, b []byte) {
		s := streamOf(b)
		for i := 0; ; i++ {
			ev, err := s.Next()
			if err != nil {
				if ev != nil {
					t.Fatalf("event and error %v", err)
				}
				if !errors.Is(err, io.EOF) && !strings.HasPrefix(err.Error(), "sscd: ") {
					t.Fatalf("untyped error %v", err)
				}
				break
			}
			if i > len(b) {
				t.Fatal("more events than bytes")
			}
			// Round trip: the event written as the daemon writes it.
			data, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			again, err := streamOf([]byte("data: " + string(data) + "\n\n")).Next()
			if err != nil {
				t.Fatalf("re-encoded event: %v", err)
			}
			d2, _ := json.Marshal(again)
			if !bytes.Equal(data, d2) {
				t.Fatalf("round trip %s != %s", data, d2)
			}
		}
		if !hasBlankLine(b) {
			if _, err := streamOf(b).Next(); !errors.Is(err, io.EOF) && err != nil && !strings.HasPrefix(err.Error(), "sscd: event stream") {
				t.Fatalf("no blank line, yet %v", err)
			}
		}
	})
}
