package apdu

import (
	"errors"
	"fmt"
)

// ErrMalformedResponse is wrapped when a card's answer is not a response APDU.
var ErrMalformedResponse = errors.New("apdu: malformed response")

// Response is a response APDU: data followed by the status word.
type Response struct {
	Data []byte
	SW   StatusWord
}

// ParseResponse splits a raw response; Data aliases b.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: %d bytes, need at least SW1 SW2", ErrMalformedResponse, len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: StatusWord(b[n])<<8 | StatusWord(b[n+1])}, nil
}

// Bytes encodes the response (data || SW1 SW2).
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, r.SW.SW1(), r.SW.SW2())
}

// Err is r.SW.Err().
func (r Response) Err() error { return r.SW.Err() }

// String formats the response as uppercase hex.
func (r Response) String() string { return fmt.Sprintf("%X%s", r.Data, r.SW) }
