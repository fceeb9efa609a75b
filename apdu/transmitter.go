package apdu

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLink is wrapped by errors of the transmission procedure itself (as
// opposed to status words, which stay in the Response, and to transport
// failures, which are returned unchanged).
var ErrLink = errors.New("apdu: link protocol error")

// Bounds errors of the Transmitter. Both wrap ErrLink.
var (
	ErrTooManyRounds   = fmt.Errorf("%w: too many exchanges for one command", ErrLink)
	ErrResponseTooLong = fmt.Errorf("%w: response data exceeds the limit", ErrLink)
)

// Defaults for the Transmitter bounds.
const (
	DefaultMaxResponse = MaxExtendedNe + 256
	DefaultMaxRounds   = 64
)

var errNoTransport = errors.New("apdu: Transmitter has no Transport")

// Transmitter sends commands over a raw Transport and hides the T=0 link
// procedures: it fetches pending data with GET RESPONSE on 61xx, resends with
// the right Le on 6Cxx and, when the card or reader cannot take extended
// lengths, splits long commands with ISO command chaining.
//
// A Transmitter holds no per-command state and may be shared, but the card
// sees one exchange at a time: callers that share a card across goroutines
// must serialize whole commands (a GET RESPONSE belongs to the command before
// it).
type Transmitter struct {
	Transport Transport

	// Raw disables all link handling: the command is sent once, as encoded,
	// and the card's answer is returned as is (61xx and 6Cxx included).
	Raw bool

	// Extended says the card and reader accept extended-length APDUs. When
	// false, long commands are chained and long Ne is requested as Le=00
	// followed by GET RESPONSE.
	Extended bool

	// MaxResponse caps the data gathered over GET RESPONSE rounds;
	// 0 means DefaultMaxResponse.
	MaxResponse int

	// MaxRounds caps the extra exchanges (GET RESPONSE, 6Cxx resend, chained
	// parts after the first) made for one command; 0 means DefaultMaxRounds.
	MaxRounds int

	// Trace, when set, is called once per exchange with the card, after the
	// answer. PIN-carrying commands are redacted first (see Redact).
	Trace Tracer
}

// Transmit sends cmd and returns the card's final answer. The error is for
// invalid commands, transport failures, cancellation and link-protocol
// violations only: a non-9000 status word is left in Response.SW. The
// response data may alias the slice returned by the Transport.
func (t *Transmitter) Transmit(ctx context.Context, cmd Command) (Response, error) {
	if t.Transport == nil {
		return Response{}, errNoTransport
	}
	if err := cmd.Validate(); err != nil {
		return Response{}, err
	}
	if t.Raw {
		return t.exchange(ctx, cmd)
	}
	r := run{t: t, maxRounds: t.MaxRounds}
	if r.maxRounds <= 0 {
		r.maxRounds = DefaultMaxRounds
	}
	if cmd.IsExtended() && !t.Extended {
		if len(cmd.Data) > MaxShortLc {
			return r.chain(ctx, cmd)
		}
		// Short Le=00 asks for everything; the card announces the rest with 61xx.
		cmd.Extended = false
		cmd.Ne = min(cmd.Ne, MaxShortNe)
	}
	return r.complete(ctx, cmd)
}

// Do transmits cmd and returns the response data when the status is 9000,
// or nil and the status word's typed error (see StatusWord.Err).
func (t *Transmitter) Do(ctx context.Context, cmd Command) ([]byte, error) {
	resp, err := t.Transmit(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := resp.Err(); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// TransmitBytes parses an encoded command and transmits it.
func (t *Transmitter) TransmitBytes(ctx context.Context, raw []byte) (Response, error) {
	cmd, err := ParseCommand(raw)
	if err != nil {
		return Response{}, err
	}
	return t.Transmit(ctx, cmd)
}

// run is the state of one Transmit call: the budget of extra exchanges.
type run struct {
	t         *Transmitter
	rounds    int
	maxRounds int
}

// extra accounts for one more exchange beyond the first.
func (r *run) extra() error {
	if r.rounds >= r.maxRounds {
		return fmt.Errorf("%w (limit %d)", ErrTooManyRounds, r.maxRounds)
	}
	r.rounds++
	return nil
}

// chain sends cmd as a chain of short commands, all but the last with the
// chaining bit set in CLA.
func (r *run) chain(ctx context.Context, cmd Command) (Response, error) {
	parts := (len(cmd.Data) + MaxShortLc - 1) / MaxShortLc
	if parts-1 > r.maxRounds {
		// Refuse up front rather than leave the card in the middle of a chain.
		return Response{}, fmt.Errorf("%w: %d chained parts (limit %d)", ErrTooManyRounds, parts, r.maxRounds+1)
	}
	part := Command{CLA: cmd.CLA | 0x10, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2}
	data := cmd.Data
	for len(data) > MaxShortLc {
		part.Data, data = data[:MaxShortLc], data[MaxShortLc:]
		resp, err := r.t.exchange(ctx, part)
		if err != nil || resp.SW != SWOK {
			return resp, err
		}
		if err := r.extra(); err != nil {
			return Response{}, err
		}
	}
	last := Command{CLA: cmd.CLA, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2, Data: data, Ne: min(cmd.Ne, MaxShortNe)}
	return r.complete(ctx, last)
}

// complete sends cmd, resends it once on 6Cxx and gathers 61xx data.
func (r *run) complete(ctx context.Context, cmd Command) (Response, error) {
	resp, err := r.t.exchange(ctx, cmd)
	if err != nil {
		return resp, err
	}
	if resp.SW.SW1() == 0x6C {
		if err := r.extra(); err != nil {
			return Response{}, err
		}
		cmd.Ne = ne(resp.SW.SW2())
		if resp, err = r.t.exchange(ctx, cmd); err != nil {
			return resp, err
		}
	}
	if resp.SW.SW1() != 0x61 {
		return resp, nil
	}
	return r.getResponse(ctx, cmd.CLA, resp)
}

// getResponse issues GET RESPONSE while the card reports 61xx, appending the
// data of every answer to that of first.
func (r *run) getResponse(ctx context.Context, cla byte, first Response) (Response, error) {
	limit := r.t.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	if len(first.Data) > limit {
		return Response{}, fmt.Errorf("%w: %d bytes (limit %d)", ErrResponseTooLong, len(first.Data), limit)
	}
	buf := make([]byte, 0, min(len(first.Data)+ne(first.SW.SW2()), limit))
	buf = append(buf, first.Data...)
	gr := Command{CLA: getResponseCLA(cla), INS: 0xC0}
	resp := first
	for resp.SW.SW1() == 0x61 {
		if err := r.extra(); err != nil {
			return Response{}, err
		}
		gr.Ne = ne(resp.SW.SW2())
		var err error
		if resp, err = r.t.exchange(ctx, gr); err != nil {
			return Response{}, err
		}
		if resp.SW.SW1() == 0x6C { // wrong Le for GET RESPONSE: ask again, once
			if err := r.extra(); err != nil {
				return Response{}, err
			}
			gr.Ne = ne(resp.SW.SW2())
			if resp, err = r.t.exchange(ctx, gr); err != nil {
				return Response{}, err
			}
		}
		if len(buf)+len(resp.Data) > limit {
			return Response{}, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLong, limit)
		}
		buf = append(buf, resp.Data...)
	}
	return Response{Data: buf, SW: resp.SW}, nil
}

// getResponseCLA keeps the logical channel of an interindustry class and
// drops its secure messaging and chaining bits; proprietary classes use 00.
func getResponseCLA(cla byte) byte {
	switch {
	case cla&0x80 != 0:
		return 0x00
	case cla&0x40 != 0: // further interindustry: channels 4-19 in b4-b1
		return cla & 0x4F
	default: // first interindustry: channels 0-3 in b2-b1
		return cla & 0x03
	}
}

// ne decodes the length announced in SW2 of 61xx or 6Cxx.
func ne(sw2 byte) int {
	if sw2 == 0 {
		return MaxShortNe
	}
	return int(sw2)
}

// exchange performs one raw exchange with the card.
func (t *Transmitter) exchange(ctx context.Context, cmd Command) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	raw, err := cmd.Bytes()
	if err != nil {
		return Response{}, err
	}
	if t.Trace == nil {
		rb, err := t.Transport.Transmit(ctx, raw)
		if err != nil {
			return Response{}, err
		}
		return ParseResponse(rb)
	}
	start := time.Now()
	rb, err := t.Transport.Transmit(ctx, raw)
	d := time.Since(start)
	var resp Response
	if err == nil {
		resp, err = ParseResponse(rb)
	}
	red, redacted := Redact(raw)
	t.Trace(TraceEvent{Command: red, Response: rb, Err: err, Duration: d, Redacted: redacted})
	if err != nil {
		return Response{}, err
	}
	return resp, nil
}
