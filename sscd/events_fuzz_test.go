package sscd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func streamOf(b []byte) *EventStream {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), maxEventLine)
	return &EventStream{body: io.NopCloser(bytes.NewReader(nil)), sc: sc}
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
		if !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\r\n\r\n")) {
			if _, err := streamOf(b).Next(); !errors.Is(err, io.EOF) && err != nil && !strings.HasPrefix(err.Error(), "sscd: event stream") {
				t.Fatalf("no blank line, yet %v", err)
			}
		}
	})
}
