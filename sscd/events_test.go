package sscd

import (
	"errors"
	"io"
	"testing"
)

// TestEventLineEnds: an event stream's lines end in LF, CRLF or a lone CR
// (the SSE format); an event is returned at its blank line only.
func TestEventLineEnds(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		events       int
	}{
		{"LF", "data: {\"type\":\"inserted\"}\n\n", 1},
		{"CRLF", "data: {\"type\":\"inserted\"}\r\n\r\n", 1},
		{"CR", "data: {\"type\":\"inserted\"}\r\r", 1},
		{"mixed", "data: {\"type\":\"inserted\"}\n\rdata: {\"type\":\"removed\"}\r\n\n", 2},
		{"two data lines joined", "data: {\"type\":\r" + "data: \"inserted\"}\r\r", 1},
		{"cut before the blank line", "data: {\"type\":\"inserted\"}\r", 0},
		{"cut after a CR that may start a CRLF", "data: {\"type\":\"inserted\"}\r\n\r", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := streamOf([]byte(tc.stream))
			n := 0
			for {
				ev, err := s.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.Type == "" {
					t.Errorf("event %d without a type", n)
				}
				n++
			}
			if n != tc.events {
				t.Errorf("%d events, want %d", n, tc.events)
			}
		})
	}
}
