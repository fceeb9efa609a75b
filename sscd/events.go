package sscd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxEventLine caps one SSE line (a snapshot of many readers is a few KiB).
const maxEventLine = 1 << 20

// EventStream is an open GET /v1/events stream.
type EventStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// Events opens the event stream. The first event is a snapshot of every
// reader; then changes follow in order. Cancelling ctx (or Close) ends it.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	req, err := c.request(ctx, http.MethodGet, "/v1/events", nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sscd: GET /v1/events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return nil, decodeError(resp.StatusCode, data)
	}
	return &EventStream{body: resp.Body, sc: eventScanner(resp.Body)}, nil
}

// eventScanner splits an event stream into its lines.
func eventScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxEventLine)
	sc.Split(scanEventLines)
	return sc
}

// scanEventLines is a bufio.SplitFunc for the lines of the SSE format,
// which end in CRLF, LF or a lone CR (bufio.ScanLines keeps a lone CR in
// the line, except at the very end of the stream).
func scanEventLines(data []byte, atEOF bool) (int, []byte, error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0 && atEOF && len(data) > 0:
		return len(data), data, nil // a last line without its end
	case i < 0:
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data) && data[i+1] == '\n':
		return i + 2, data[:i], nil
	case i+1 < len(data) || atEOF:
		return i + 1, data[:i], nil
	}
	return 0, nil, nil // a CR at the end of what was read: an LF may follow
}

// Next returns the next event; it blocks until one arrives, the stream ends
// (io.EOF) or its context is cancelled.
func (s *EventStream) Next() (*Event, error) {
	var data strings.Builder
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue // keep-alive or an event without data
			}
			var ev Event
			if err := json.Unmarshal([]byte(data.String()), &ev); err != nil {
				return nil, fmt.Errorf("sscd: event: %w", err)
			}
			return &ev, nil
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
		// "event:", "id:" and ":" comments repeat what data holds.
	}
	if err := s.sc.Err(); err != nil {
		return nil, fmt.Errorf("sscd: event stream: %w", err)
	}
	return nil, io.EOF
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
