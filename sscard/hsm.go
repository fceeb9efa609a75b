package sscard

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
)

// Key ids of the SSSE authentication (sim-profile §1).
const (
	KidInternal byte = 0x09 // internal authentication
	KidRead     byte = 0x0A // external authentication: read protected records
	KidUpdate   byte = 0x04 // external authentication: update / PIN reset
)

// HSM computes the cryptograms of the two-step flow from a Step-1 request.
type HSM interface {
	Authenticate(ctx context.Context, step1 Step1) (Step2Input, error)
}

// HSMRequest is an HSM two-step read in progress. It holds a reader
// transaction from BeginHSM until Complete or Abort, so no other command
// (and no reset by this process) can reach the card between the steps; if
// the card is removed or reset meanwhile, Complete fails with an error
// matching reader.ErrCardRemoved or reader.ErrCardReset.
type HSMRequest struct {
	s      *Session
	step1  Step1
	info   *BasicInfo
	fields FieldSet
	opts   ReadOptions
	done   bool
}

// BeginHSM starts the HSM two-step read of fields (0 = FieldsCardBas): it
// begins a reader transaction and keeps it, reads the free fields, issues
// GET CHALLENGE four times (O1, F1, O2, F2) and builds the Step-1 request.
// Call Complete with the HSM's answer, or Abort.
func (s *Session) BeginHSM(ctx context.Context, opts ReadOptions) (*HSMRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return nil, ErrBusy
	}
	if err := s.card.BeginTransaction(ctx); err != nil {
		s.selected = false
		return nil, fmt.Errorf("sscard: begin transaction: %w", err)
	}
	req := &HSMRequest{s: s, opts: opts, fields: opts.fields() | FieldCardID, info: &BasicInfo{ATRHistorical: slices.Clone(s.atrHist)}}
	fail := func(err error) (*HSMRequest, error) {
		if !isStatus(err) {
			s.selected = false
		}
		_ = s.card.EndTransaction(reader.LeaveCard)
		return nil, err
	}
	if err := s.ensureSSSE(ctx); err != nil {
		return fail(err)
	}
	if err := s.readFields(ctx, req.info, req.fields&FieldsFree, false, false); err != nil {
		return fail(err)
	}
	ch, err := s.challenges(ctx, 4) // O1, F1, O2, F2
	if err != nil {
		return fail(err)
	}
	req.step1 = Step1{Region: req.info.Region, ATRHistorical: slices.Clone(s.atrHist), Algorithm: AlgSM4,
		CardID: slices.Clone(req.info.CardID), O1: ch[0], F1: ch[1], O2: ch[2], F2: ch[3]}
	s.pending = req
	return req, nil
}

// Step1 returns the Step-1 request to send to the HSM.
func (r *HSMRequest) Step1() Step1 { return r.step1 }

// Complete finishes the flow with the HSM's answer: INTERNAL AUTHENTICATE
// (kid 09, F1||O1) compared in constant time with C1 — a mismatch gives
// ErrCardNotGenuine and nothing is read —, EXTERNAL AUTHENTICATE (kid 0A,
// C2||O2; 63Cx gives *apdu.AuthError), then the protected records. The
// transaction ends in every case; the request cannot be used again.
func (r *HSMRequest) Complete(ctx context.Context, ans Step2Input) (*BasicInfo, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.done {
		return nil, ErrRequestDone
	}
	r.done = true
	s.pending = nil
	err := r.complete(ctx, ans)
	if err != nil && !isStatus(err) {
		s.selected = false
	}
	if eerr := s.card.EndTransaction(reader.LeaveCard); eerr != nil && err == nil {
		s.selected = false
		err = fmt.Errorf("sscard: end transaction: %w", eerr)
	}
	if err != nil {
		return nil, err
	}
	return r.info, nil
}

func (r *HSMRequest) complete(ctx context.Context, ans Step2Input) error {
	s := r.s
	if !bytes.Equal(ans.Result1[8:], r.step1.O1) || !bytes.Equal(ans.Result2[8:], r.step1.O2) {
		return ErrHSMAnswer
	}
	data := append(slices.Clone(r.step1.F1), r.step1.O1...)
	c, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x88, P1: 0x00, P2: KidInternal, Data: data, Ne: 256})
	if err != nil {
		return fmt.Errorf("sscard: internal authenticate: %w", err)
	}
	if len(c) != 8 || subtle.ConstantTimeCompare(c, ans.Result1[:8]) != 1 {
		return ErrCardNotGenuine
	}
	if _, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x82, P1: 0x00, P2: KidRead, Data: ans.Result2[:]}); err != nil {
		return fmt.Errorf("sscard: external authenticate: %w", err)
	}
	if err := s.readFields(ctx, r.info, r.fields, false, true); err != nil {
		return err
	}
	return s.readFiles(ctx, r.info, r.opts, false)
}

// Abort ends the request and its transaction without authenticating.
// It is safe to call more than once and after Complete.
func (r *HSMRequest) Abort() {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.done {
		return
	}
	r.done = true
	s.pending = nil
	if err := s.card.EndTransaction(reader.LeaveCard); err != nil {
		s.selected = false
	}
}

// ReadWithHSM reads what opts ask for: directly when no authentication is
// needed (2nd-gen card without EF07/EF08, or free fields only), otherwise
// through the HSM two-step flow with hsm.
func ReadWithHSM(ctx context.Context, s *Session, hsm HSM, opts ReadOptions) (*BasicInfo, error) {
	if !s.needsHSM(opts) {
		opts.AllowPartial = false
		return s.Read(ctx, opts)
	}
	req, err := s.BeginHSM(ctx, opts)
	if err != nil {
		return nil, err
	}
	ans, err := hsm.Authenticate(ctx, req.Step1())
	if err != nil {
		req.Abort()
		return nil, fmt.Errorf("%w: %w", ErrHSM, err)
	}
	return req.Complete(ctx, ans)
}

// ReadsWithHSM reports whether ReadAuto reads the card of s with hsm
// (there is one and the card is 3rd gen), which authenticates and so
// raises the card's security state.
func ReadsWithHSM(s *Session, hsm HSM) bool { return hsm != nil && s.Generation() >= 3 }

// ReadAuto reads what opts ask for with hsm when there is one and the card
// is 3rd gen, directly otherwise (a 3rd-gen card without hsm then gives
// ErrNeedsHSM for protected fields, or the free ones with
// opts.AllowPartial). It is the one rule sscctl, sscd and link read a
// card's holder with.
func ReadAuto(ctx context.Context, s *Session, hsm HSM, opts ReadOptions) (*BasicInfo, error) {
	if ReadsWithHSM(s, hsm) {
		return ReadWithHSM(ctx, s, hsm, opts)
	}
	return s.Read(ctx, opts)
}
