//go:build nopcsc || (!cgo && !windows)

package pcsc

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/reader"
)

// New returns the PC/SC backend. This build has no PC/SC support (neither
// cgo nor Windows, or the nopcsc tag): the backend lists no readers and its
// methods fail with reader.ErrNotSupported, so a program still runs on its
// other backends.
func New() reader.Backend { return stub{} }

type stub struct{}

func (stub) Name() string { return "pcsc" }

func (stub) err(op, name string) error {
	return &reader.Error{Op: op, Reader: name,
		Err: fmt.Errorf("%w: built without PC/SC support (needs cgo or Windows, and not the nopcsc build tag)", reader.ErrNotSupported)}
}

func (s stub) ListReaders(context.Context) ([]reader.Info, error) {
	return nil, s.err("list readers", "")
}

func (s stub) Connect(_ context.Context, name string, _ reader.ConnectOptions) (reader.Card, error) {
	return nil, s.err("connect", name)
}

func (s stub) Watch(context.Context) (<-chan reader.Event, error) { return nil, s.err("watch", "") }

func (stub) Close() error { return nil }
