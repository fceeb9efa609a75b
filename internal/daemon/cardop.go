package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// cardOp is one operation on one card: it holds the reader's queue and an
// exclusive connection until done is called.
type cardOp struct {
	d         *Daemon
	reader    sscd.Reader
	card      reader.Card
	sess      *sscard.Session
	release   func()
	note      *opNote
	raised    bool // security state raised: reset before releasing
	closeOnce bool
}

// begin waits for the reader's turn (FIFO), checks that the card is the
// expected insertion, and connects exclusively, so no other process can
// send APDUs in between, then opens the SSSE application.
func (d *Daemon) begin(ctx context.Context, name string, want uint64) (*cardOp, error) {
	return d.beginOp(ctx, name, want, true)
}

// beginOp is begin; openSSC false leaves the card as it is (raw APDUs).
func (d *Daemon) beginOp(ctx context.Context, name string, want uint64, openSSC bool) (*cardOp, error) {
	r, err := d.state.find(name)
	if err != nil {
		return nil, err
	}
	if err := checkInsertion(r, want); err != nil {
		return nil, err
	}
	release, err := d.queues.lock(ctx, r.Name)
	if err != nil {
		return nil, sscd.Errorf(sscd.CodeBusy, "reader %q busy: %v", r.Name, err)
	}
	op := &cardOp{d: d, reader: r, release: release}
	// The state may have changed while we queued.
	if r, err = d.state.find(r.Name); err == nil {
		err = checkInsertion(r, want)
	}
	if err != nil {
		release()
		return nil, err
	}
	op.reader = r
	card, err := d.sys.ConnectIn(ctx, r.Backend, r.Name, reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		release()
		return nil, fmt.Errorf("connect %q: %w", r.Name, err)
	}
	op.card = card
	// A card whose reset was skipped (pcscd stuck at the end of an
	// operation that raised its security state) is reset before anyone
	// uses it again.
	if _, due := d.resetDue.Load(r.Name); due {
		if err := card.Reset(ctx, false); err != nil {
			op.done()
			return nil, fmt.Errorf("reset %q: %w", r.Name, err)
		}
		d.resetDue.Delete(r.Name)
	}
	// A swap seen by the watcher while we connected: when the caller named
	// a card, the one we reached may not be it.
	now, err := d.state.find(r.Name)
	if err == nil {
		err = checkInsertion(now, want)
	}
	if err != nil {
		op.done()
		return nil, err
	}
	op.reader = now
	if !openSSC {
		return op, nil
	}
	sess, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		err = op.explain(err)
		op.done()
		return nil, err
	}
	op.sess = sess
	if err := op.checkCard(ctx, want); err != nil {
		op.done()
		return nil, err
	}
	return op, nil
}

// checkCard reads the card identification code (EF05/01, free on every
// generation) and compares it with the one the first operation on this
// insertion (the probe) read: a fast swap pcscd missed leaves the insertion
// id on another card. A mismatch drops what was cached for the insertion
// and gives the card a new insertion; a caller that named the old one gets
// card_changed, one that did not goes on with the new one.
func (op *cardOp) checkCard(ctx context.Context, want uint64) error {
	info, err := op.sess.Read(ctx, sscard.ReadOptions{Fields: sscard.FieldCardID, AllowPartial: true})
	if err != nil {
		if _, answered := apdu.StatusOf(err); answered || errors.Is(err, sscard.ErrMalformedRecord) {
			return nil // no card id to compare (an unusual card): the insertion id stands alone
		}
		return op.explain(err)
	}
	now, changed := op.d.state.checkCardID(op.reader.Name, op.reader.Insertion, info.CardID)
	if !changed {
		return nil
	}
	op.d.cache.drop(op.reader.Name, op.reader.Insertion)
	if want != 0 || now.Insertion == 0 {
		return sscd.Errorf(sscd.CodeCardChanged, "the card in %q is not the one of insertion %d (swapped faster than the reader reported)", op.reader.Name, op.reader.Insertion)
	}
	op.reader = now
	return nil
}

// checkInsertion compares the reader's card with the caller's expectation.
func checkInsertion(r sscd.Reader, want uint64) error {
	switch {
	case want != 0 && r.Insertion != want:
		return sscd.Errorf(sscd.CodeCardChanged, "reader %q holds insertion %d, not %d", r.Name, r.Insertion, want)
	case !r.CardPresent:
		return sscd.Errorf(sscd.CodeNoCard, "no card in %q", r.Name)
	}
	return nil
}

// resetTimeout bounds the reset at the end of an operation, which must run
// even when the operation's context is done.
const resetTimeout = 5 * time.Second

// done resets the card if its security state was raised, disconnects and
// hands the reader to the next in the queue.
func (op *cardOp) done() {
	if op.closeOnce {
		return
	}
	op.closeOnce = true
	if op.sess != nil {
		op.sess.Close()
	}
	if op.card != nil {
		if op.raised && len(op.d.sys.Health()) > 0 {
			// pcscd does not answer: do not hold the answer for a reset
			// that would be abandoned too; the next operation resets.
			op.d.resetDue.Store(op.reader.Name, struct{}{})
		} else if op.raised {
			ctx, cancel := context.WithTimeout(context.Background(), resetTimeout)
			if err := op.card.Reset(ctx, false); err != nil && !errors.Is(err, reader.ErrCardRemoved) && !errors.Is(err, reader.ErrNoCard) {
				op.d.log.Warn("card reset failed", "reader", op.reader.Name, errAttr(err))
			}
			cancel()
		}
		op.card.Close()
	}
	op.release()
}

// explain turns the failure of a card that has meanwhile left the reader
// (a garbled or empty answer as it was pulled out) into card_removed, which
// is what the caller needs to know. It is best effort: the watcher may not
// have seen the removal yet.
func (op *cardOp) explain(err error) error {
	if err == nil {
		return nil
	}
	var ae *sscd.Error
	if errors.As(err, &ae) {
		return err
	}
	if _, answered := apdu.StatusOf(err); answered {
		return err // the card sent a status word: it was there
	}
	var re *reader.Error
	if !errors.As(err, &re) && !errors.Is(err, apdu.ErrMalformedResponse) {
		return err // not the link to the card (an HSM, a bad request, ...)
	}
	if errors.Is(err, reader.ErrServiceUnavailable) {
		// pcscd stopped or gone: the watcher reports every card removed
		// then, but the card was not the problem.
		return err
	}
	if !op.d.state.waitGone(op.reader.Name, op.reader.Insertion, removalGrace) {
		return err
	}
	return &sscd.Error{Code: sscd.CodeCardRemoved, Message: fmt.Sprintf("card removed from %q during the operation: %v", op.reader.Name, err)}
}

// removalGrace is how long a failed operation waits for the watcher to
// report the card gone before answering: pcscd polls some readers (vpcd)
// only every ~400 ms, and "the card was removed" is what the caller needs
// to hear rather than the garbled exchange that preceded it.
const removalGrace = 1500 * time.Millisecond
