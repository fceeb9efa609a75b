package apdu

import "context"

// Transport sends one raw command APDU to a card and returns the raw response
// (data || SW1 SW2). It does no link-level processing: 61xx and 6Cxx come back
// as they are. reader.Card implements it.
type Transport interface {
	Transmit(ctx context.Context, cmd []byte) ([]byte, error)
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(ctx context.Context, cmd []byte) ([]byte, error)

// Transmit calls f.
func (f TransportFunc) Transmit(ctx context.Context, cmd []byte) ([]byte, error) { return f(ctx, cmd) }
