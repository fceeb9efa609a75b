package ministry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// iWriteCard writes the data items of pFileAddr (the iReadCard syntax)
// with the values of pWriteData, one per item in the order of the
// address, each followed by "|" (GBK unless charset is utf-8). Only the
// items an issuance writes with values of its own can be written
// (sscard.FieldsWritable: EF05 01, 04–07, EF06 08, 09, 4E, 0A, 0B, 0D);
// EF05 02/03 (fixed by the issuance) and EF06 0C give ErrNotWritable.
// The values are checked as sscard's write info, together with the card's
// other fields (an expiry date after the issue date, the SSN's birth date
// equal to the card's...): the card must hold valid issuance data. It is
// sscard's partial write session (Session.BeginUpdate): read-key
// authentication (kid 09/0A) and reading every field, then GET CHALLENGE
// for the write key, EXTERNAL AUTHENTICATE kid 04, UPDATE RECORD of the
// addressed items only, and every written item read back and compared
// (ErrWriteMismatch names the field). Writing is off unless allow_write
// is set. Through sscd it is the daemon's update (POST
// /v1/readers/{reader}/update, or its write session for the HSM steps),
// with the daemon's key system.
//
// The HSM steps. SIM choice (the ministry's step strings are not public):
// the card consumes its challenge at every EXTERNAL AUTHENTICATE, so the
// read key (needed to check the data against the card and to read the
// protected items back) and the write key are two round trips to the key
// system, and a third step follows the ministry's two, as for iReloadPIN:
//
//	Step1(iType, pCardInfo, pFileAddr) → the Step-1 line of the read
//	      flow, region|ATRhist|03|cardID|F1|O1|F2|O2| (the write
//	      session's step 1)
//	Step2(pKey = RESULT1|RESULT2|, pWriteData) → the card is
//	      authenticated, its fields read and the data checked; answers the
//	      write-key request region|ATRhist|03|cardID|KEYFAC|ODATA|
//	      (sscard.WriteKeyRequest)
//	Step3(pKey = RESULT|, C||ODATA) → EXTERNAL AUTHENTICATE kid 04, the
//	      writes and the read-back; answers "OK|"
//
// A malformed pWriteData in step 2 leaves the flow pending (the caller
// may correct it); a refusal of the card ends it, nothing written.

// writeFlow is a two-step write on the held card.
type writeFlow struct {
	ws     *sscard.WriteSession
	values map[string]string // step 2's data, for the session's update
}

func (wf *writeFlow) update(card *sscard.WriteInfo) (*sscard.WriteInfo, error) {
	return card.With(wf.values)
}

// writeArgs checks the arguments common to iWriteCard and its step 1,
// in the order of the codes' documentation: the strings, then whether
// writing is allowed, then whether the items are writable.
func (l *Lib) writeArgs(cardInfo, fileAddr, writeData string) ([]byte, Address, Result, bool) {
	cardID, err := parseCardInfo(cardInfo)
	if err != nil {
		return nil, Address{}, fail(ErrArgFormat, "pCardInfo"), false
	}
	addr, err := ParseAddress(fileAddr)
	if err != nil {
		return nil, Address{}, fail(ErrAddress, ""), false
	}
	if len(writeData) > MaxCardInfoIn {
		return nil, Address{}, fail(ErrArgFormat, "pWriteData"), false
	}
	if !l.cfg.AllowWrite {
		return nil, Address{}, fail(ErrWriteDisabled, ""), false
	}
	for _, it := range addr.items {
		if it.wname == "" {
			return nil, Address{}, fail(ErrNotWritable, it.file+"|"+it.tag), false
		}
	}
	return cardID, addr, Result{}, true
}

// writeValues splits pWriteData into the values of addr's items, by
// write-info field name. The detail of an error is safe to show.
func (l *Lib) writeValues(addr Address, data string) (map[string]string, Result, bool) {
	if !l.cfg.UTF8 {
		d, err := simplifiedchinese.GBK.NewDecoder().String(data)
		if err != nil || strings.ContainsRune(d, utf8.RuneError) {
			return nil, fail(ErrWriteData, "not GBK"), false
		}
		data = d
	} else if !utf8.ValidString(data) {
		return nil, fail(ErrWriteData, "not UTF-8"), false
	}
	if !strings.HasSuffix(data, "|") {
		return nil, fail(ErrWriteData, `missing trailing "|"`), false
	}
	f := strings.Split(strings.TrimSuffix(data, "|"), "|")
	if len(f) != len(addr.items) {
		return nil, fail(ErrWriteData, fmt.Sprintf("%d values for %d data items", len(f), len(addr.items))), false
	}
	values := make(map[string]string, len(f))
	for i, it := range addr.items {
		values[it.wname] = f[i]
	}
	return values, Result{}, true
}

// writeError maps the error of a write: invalid data and read-back
// mismatches name the field (never the value), a 63Cx is the card
// refusing a key-system cryptogram.
func writeError(err error) Result {
	var wie *sscard.WriteInfoError
	var wme *sscard.WriteMismatchError
	switch {
	case errors.As(err, &wie):
		return fail(ErrWriteData, wie.Field)
	case errors.As(err, &wme):
		return fail(ErrWriteMismatch, wme.Field)
	case errors.Is(err, sscard.ErrWrongCard):
		return fail(ErrWrongCard, "")
	}
	return hsmError(err)
}

// WriteCard is iWriteCard: the whole write with the configured key system
// (both keys) in one call, or the daemon's.
func (l *Lib) WriteCard(iType int, cardInfo, fileAddr, writeData string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	cardID, addr, r, ok := l.writeArgs(cardInfo, fileAddr, writeData)
	if !ok {
		return r
	}
	values, r, ok := l.writeValues(addr, writeData)
	if !ok {
		return r
	}
	wk, ok := l.hsm.(sscard.WriteKeyHSM)
	if l.daemon == nil && (l.hsm == nil || !ok) {
		return fail(ErrHSM, "no key system with the update key configured (SSC_HSM)")
	}
	wf := &writeFlow{values: values}
	err := l.do(iType, func(ctx context.Context, c *conn) error {
		c.reset = true
		_, err := sscard.Update(ctx, c.sess, cardID, addr.Fields(), wf.update, sscard.IssueOptions{HSM: l.hsm, WriteKey: wk})
		return err
	}, func(ctx context.Context, name string) error {
		_, err := l.daemon.Update(ctx, name, sscd.UpdateRequest{CardID: cardID, Values: values}, sscd.CardOptions{})
		return err
	})
	if err != nil {
		return writeError(err)
	}
	return Result{Out: "OK|"}
}

// WriteCardStep1 is iWriteCard_HSM_Step1.
func (l *Lib) WriteCardStep1(iType int, cardInfo, fileAddr string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	cardID, addr, r, ok := l.writeArgs(cardInfo, fileAddr, "")
	if !ok {
		return r
	}
	return l.beginSession(flowWrite, iType, addr, func(ctx context.Context, c *conn, wf *writeFlow) (*sscard.WriteSession, error) {
		return c.sess.BeginUpdate(ctx, cardID, addr.Fields(), wf.update, sscard.WriteOptions{})
	}, func(ctx context.Context, name string) (*sscd.IssueStep1, error) {
		return l.daemon.UpdateStep1(ctx, name, sscd.UpdateRequest{CardID: cardID, Fields: addr.writeNames()}, sscd.CardOptions{})
	})
}

// WriteCardStep2 is iWriteCard_HSM_Step2.
func (l *Lib) WriteCardStep2(key, writeData string) Result {
	if r, ok := l.start(noIType); !ok {
		return r
	}
	ans, err := parseKey(key)
	if err != nil {
		return fail(ErrKeyFormat, "")
	}
	if len(writeData) > MaxCardInfoIn {
		return fail(ErrArgFormat, "pWriteData")
	}
	if !l.cfg.AllowWrite {
		return fail(ErrWriteDisabled, "")
	}
	// The data are checked against the pending address first: a
	// malformed pWriteData leaves the flow pending.
	l.pendMu.Lock()
	var addr Address
	if l.pend != nil && l.pend.kind == flowWrite && l.pend.step == 2 {
		addr = l.pend.addr
	}
	l.pendMu.Unlock()
	var values map[string]string
	if addr.items != nil {
		var r Result
		var ok bool
		if values, r, ok = l.writeValues(addr, writeData); !ok {
			return r
		}
	}
	return l.sessionStep2(flowWrite, ans, values)
}

// WriteCardStep3 is iWriteCard_HSM_Step3 (an extension, see above).
func (l *Lib) WriteCardStep3(key string) Result { return l.sessionStep3(flowWrite, key) }
