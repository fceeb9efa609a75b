package main

import (
	"context"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// openSession connects to the chosen reader and opens SSSE. close releases
// the session, the card and the reader system.
func (a *app) openSession(ctx context.Context) (sess *sscard.Session, card reader.Card, closeAll func(), err error) {
	sys, card, _, err := a.connect(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	opts := sscard.Options{}
	if a.trace {
		opts.Trace = a.tracer()
	}
	sess, err = sscard.Open(ctx, card, opts)
	if err != nil {
		card.Close()
		sys.Close()
		return nil, nil, nil, err
	}
	return sess, card, func() {
		sess.Close()
		card.Close()
		sys.Close()
	}, nil
}
