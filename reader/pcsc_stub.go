//go:build !cgo || nopcsc

package reader

import (
	"context"
	"errors"
)

var errNoPCSC = errors.New("built without PC/SC support (needs cgo and not the nopcsc build tag)")

// NewPCSC returns the PC/SC backend. This build has no PC/SC support (cgo
// disabled or the nopcsc tag): the backend lists no readers and its methods
// fail with ErrNotSupported.
func NewPCSC() Backend { return pcscStub{} }

type pcscStub struct{}

func (pcscStub) Name() string { return "pcsc" }

func (pcscStub) err(op string) error {
	return &Error{Op: op, Err: errors.Join(ErrNotSupported, errNoPCSC)}
}

func (s pcscStub) ListReaders(context.Context) ([]ReaderInfo, error) {
	return nil, s.err("list readers")
}

func (s pcscStub) Connect(_ context.Context, name string, _ ConnectOptions) (Card, error) {
	return nil, &Error{Op: "connect", Reader: name, Err: errors.Join(ErrNotSupported, errNoPCSC)}
}

func (s pcscStub) Watch(context.Context) (<-chan Event, error) { return nil, s.err("watch") }

func (pcscStub) Close() error { return nil }
