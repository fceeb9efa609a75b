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

// Find picks a reader by name: an exact name wins, otherwise a unique
// case-insensitive substring match. With an empty pattern it picks the first
// reader holding a card, preferring hardware readers; the software card
// ("sim") is chosen only when no other reader exists at all, so a forgotten
// card in a real reader is reported rather than silently replaced by the sim.
func (s *System) Find(ctx context.Context, pattern string) (Backend, Info, error) {
	type cand struct {
		b  Backend
		ri Info
	}
	var all []cand
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
			all = append(all, cand{b, r})
		}
	}
	if len(all) == 0 {
		err := ErrNoReaders
		if len(errs) > 0 {
			err = fmt.Errorf("%w (%w)", ErrNoReaders, errors.Join(errs...))
		}
		return nil, Info{}, &Error{Op: "find reader", Err: err}
	}
	if pattern == "" {
		var hw []cand
		for _, c := range all {
			if c.b.Name() != "sim" {
				hw = append(hw, c)
			}
		}
		if len(hw) == 0 {
			hw = all
		}
		for _, c := range hw {
			if c.ri.CardPresent {
				return c.b, c.ri, nil
			}
		}
		return nil, Info{}, &Error{Op: "find reader", Reader: hw[0].ri.Name,
			Err: fmt.Errorf("%w (in any of %d readers; --reader sim uses the software card)", ErrNoCard, len(hw))}
	}
	var matches []cand
	for _, c := range all {
		if c.ri.Name == pattern {
			return c.b, c.ri, nil
		}
		if strings.Contains(strings.ToLower(c.ri.Name), strings.ToLower(pattern)) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 0:
		err := ErrReaderNotFound
		if len(errs) > 0 {
			// The reader may be behind the backend that failed (pcscd down).
			err = fmt.Errorf("%w (%w)", ErrReaderNotFound, errors.Join(errs...))
		}
		return nil, Info{}, &Error{Op: "find reader", Reader: pattern, Err: err}
	case 1:
		return matches[0].b, matches[0].ri, nil
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = fmt.Sprintf("%q", m.ri.Name)
	}
	return nil, Info{}, &Error{Op: "find reader", Reader: pattern,
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
