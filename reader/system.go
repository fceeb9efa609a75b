package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// System combines backends into one list of readers: PC/SC readers first,
// then serial ones, then the in-process software card.
type System struct {
	Backends []Backend
}

// Open returns a System over the given backends.
func Open(backends ...Backend) *System { return &System{Backends: backends} }

// Close closes every backend.
func (s *System) Close() error {
	var errs []error
	for _, b := range s.Backends {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

// ListReaders lists the readers of every backend. A backend that is not
// available (pcscd not running) contributes no readers; its error is returned
// only when no backend listed anything.
func (s *System) ListReaders(ctx context.Context) ([]Info, error) {
	var out []Info
	var errs []error
	for _, b := range s.Backends {
		rs, err := b.ListReaders(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, rs...)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Find picks a reader by name with the rule of Pick, over the readers of
// every backend in order. A backend that fails to list is mentioned in the
// error when no reader matched: the reader may be behind it (pcscd down).
func (s *System) Find(ctx context.Context, pattern string) (Backend, Info, error) {
	var all []Info
	var owners []Backend
	var errs []error
	for _, b := range s.Backends {
		rs, err := b.ListReaders(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, Info{}, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		for _, r := range rs {
			r.Backend = b.Name() // the backend is what Pick tells the software card by
			all = append(all, r)
			owners = append(owners, b)
		}
	}
	i, err := Pick(all, pattern)
	if err != nil {
		var e *Error
		if len(errs) > 0 && errors.As(err, &e) && (errors.Is(err, ErrNoReaders) || errors.Is(err, ErrReaderNotFound)) {
			e.Err = fmt.Errorf("%w (%w)", e.Err, errors.Join(errs...))
		}
		return nil, Info{}, err
	}
	return owners[i], all[i], nil
}

// Pick chooses one of readers, listed in the order of System (PC/SC,
// serial, the software card), and returns its index: an exact name wins,
// otherwise a unique case-insensitive substring match. With an empty
// pattern it picks the first reader holding a card, preferring hardware
// readers; the software card ("sim") is chosen only when no other reader
// exists at all, so a forgotten card in a real reader is reported rather
// than silently replaced by the sim. Clients of sscd pick with the same
// rule from the daemon's list.
func Pick(readers []Info, pattern string) (int, error) {
	if len(readers) == 0 {
		return -1, &Error{Op: "find reader", Err: ErrNoReaders}
	}
	if pattern == "" {
		var hw []int
		for i, r := range readers {
			if r.Backend != "sim" { // ChipBackend: the software card
				hw = append(hw, i)
			}
		}
		if len(hw) == 0 {
			for i := range readers {
				hw = append(hw, i)
			}
		}
		for _, i := range hw {
			if readers[i].CardPresent {
				return i, nil
			}
		}
		return -1, &Error{Op: "find reader", Reader: readers[hw[0]].Name,
			Err: fmt.Errorf("%w (in any of %d readers; --reader sim uses the software card)", ErrNoCard, len(hw))}
	}
	var matches []int
	for i, r := range readers {
		if r.Name == pattern {
			return i, nil
		}
		if strings.Contains(strings.ToLower(r.Name), strings.ToLower(pattern)) {
			matches = append(matches, i)
		}
	}
	switch len(matches) {
	case 0:
		return -1, &Error{Op: "find reader", Reader: pattern, Err: ErrReaderNotFound}
	case 1:
		return matches[0], nil
	}
	names := make([]string, len(matches))
	for k, i := range matches {
		names[k] = fmt.Sprintf("%q", readers[i].Name)
	}
	return -1, &Error{Op: "find reader", Reader: pattern,
		Err: fmt.Errorf("%w: %s", ErrAmbiguousReader, strings.Join(names, ", "))}
}

// Connect finds a reader (see Find) and connects to its card.
func (s *System) Connect(ctx context.Context, pattern string, opts ConnectOptions) (Card, error) {
	b, ri, err := s.Find(ctx, pattern)
	if err != nil {
		return nil, err
	}
	return b.Connect(ctx, ri.Name, opts)
}

// ConnectIn connects to the reader named exactly name of the backend whose
// Name is backend, without listing the readers first: for callers that
// know both from the backends' own events (sscd, for every operation). A
// listing costs several PC/SC calls, each serialised with the others of
// the process (reader/pcsc, states.go). With no backend of that name, or
// more than one, it is Connect(ctx, name, opts).
func (s *System) ConnectIn(ctx context.Context, backend, name string, opts ConnectOptions) (Card, error) {
	var found Backend
	for _, b := range s.Backends {
		if b.Name() != backend {
			continue
		}
		if found != nil {
			return s.Connect(ctx, name, opts)
		}
		found = b
	}
	if found == nil {
		return s.Connect(ctx, name, opts)
	}
	return found.Connect(ctx, name, opts)
}

// Watch merges the event streams of every backend. A backend that cannot
// watch at all is reported as a BackendError event; the stream ends when ctx
// is done.
func (s *System) Watch(ctx context.Context) (<-chan Event, error) {
	out := make(chan Event, 64)
	var wg sync.WaitGroup
	started := 0
	var errs []error
	for _, b := range s.Backends {
		ch, err := b.Watch(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range ch {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	if started == 0 {
		return nil, &Error{Op: "watch", Err: errors.Join(append(errs, ErrNoReaders)...)}
	}
	go func() {
		for _, err := range errs {
			select {
			case out <- Event{Type: BackendError, Time: time.Now(), Err: err.Error()}:
			case <-ctx.Done():
			}
		}
		wg.Wait()
		close(out)
	}()
	return out, nil
}
