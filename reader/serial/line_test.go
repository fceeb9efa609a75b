package serial

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
)

// TestSerialLineExchange drives one exchange against every kind of line
// trouble: the answer must come through, or a typed error within bounds.
func TestSerialLineExchange(t *testing.T) {
	xfr := ccid.Message{Type: ccid.XfrBlock, Data: []byte{0x00, 0x84, 0x00, 0x00, 0x08}}
	status := ccid.Message{Type: ccid.GetSlotStatus}
	// Margins are wide: the machine may be loaded (-race, 2 shared cores).
	short := exchangeOpts{timeout: 300 * time.Millisecond, cap: 1200 * time.Millisecond}
	shortIdem := short
	shortIdem.idempotent = true
	for _, c := range []struct {
		name    string
		cmd     ccid.Message
		opts    exchangeOpts
		fault   func(int, ccid.Message) devFault
		trickle bool
		wantErr error // nil: success
		check   func(t *testing.T, s lineStats)
	}{
		{name: "clean", cmd: xfr, opts: short},
		{name: "no echo", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{noEcho: true})},
		{name: "full echo", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{fullEcho: true}),
			check: func(t *testing.T, s lineStats) {
				if s.Echoes != 1 {
					t.Errorf("echoes %d, want 1", s.Echoes)
				}
			}},
		{name: "echo with bad LRC", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{badEcho: true})},
		{name: "noise before echo", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{noise: []byte{0x00, 0x42, 0x03, 0x07}}),
			check: func(t *testing.T, s lineStats) {
				if s.BadFrames == 0 {
					t.Errorf("noise not seen")
				}
			}},
		{name: "NAK once", cmd: xfr, opts: short, fault: faultOnce(ccid.XfrBlock, devFault{nak: true}),
			check: func(t *testing.T, s lineStats) {
				if s.NAKs != 1 {
					t.Errorf("NAKs %d, want 1", s.NAKs)
				}
			}},
		{name: "NAK always", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{nak: true}), wantErr: reader.ErrProtocol},
		{name: "time requests extend the wait", cmd: xfr, opts: short,
			fault: faultOn(ccid.XfrBlock, devFault{timeReqs: 4, gap: 150 * time.Millisecond}),
			check: func(t *testing.T, s lineStats) {
				if s.TimeRequests != 4 {
					t.Errorf("time requests %d, want 4", s.TimeRequests)
				}
			}},
		{name: "time requests bounded by the cap", cmd: xfr, opts: short,
			fault: faultOn(ccid.XfrBlock, devFault{timeReqs: 9, gap: 150 * time.Millisecond, silent: true}), wantErr: reader.ErrTimeout},
		{name: "trickled bytes and empty reads", cmd: xfr, opts: short, trickle: true,
			fault: faultOn(ccid.XfrBlock, devFault{timeReqs: 1, notice: []byte{0x50, 0x03}})},
		{name: "CCID time extension", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{timeExt: true}),
			check: func(t *testing.T, s lineStats) {
				if s.TimeExts != 1 {
					t.Errorf("time extensions %d, want 1", s.TimeExts)
				}
			}},
		{name: "stale answer skipped", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{stale: true}),
			check: func(t *testing.T, s lineStats) {
				if s.Stale != 1 {
					t.Errorf("stale %d, want 1", s.Stale)
				}
			}},
		{name: "notices recorded", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{notice: []byte{0x50, 0x02, 0x50, 0x03}}),
			check: func(t *testing.T, s lineStats) {
				if s.Notices != 2 {
					t.Errorf("notices %d, want 2", s.Notices)
				}
			}},
		{name: "bad LRC, card command not resent", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{badLRC: true}), wantErr: reader.ErrProtocol,
			check: func(t *testing.T, s lineStats) {
				if s.Resends != 0 {
					t.Errorf("resends %d, want 0", s.Resends)
				}
			}},
		{name: "bad LRC once, idempotent resent", cmd: status, opts: shortIdem, fault: faultOnce(ccid.GetSlotStatus, devFault{badLRC: true}),
			check: func(t *testing.T, s lineStats) {
				if s.Resends != 1 {
					t.Errorf("resends %d, want 1", s.Resends)
				}
			}},
		{name: "bad LRC always, idempotent gives up", cmd: status, opts: shortIdem, fault: faultOn(ccid.GetSlotStatus, devFault{badLRC: true}), wantErr: reader.ErrProtocol},
		{name: "lost byte, card command", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{dropByte: 5}), wantErr: reader.ErrProtocol},
		{name: "lost byte once, idempotent resent", cmd: status, opts: shortIdem, fault: faultOnce(ccid.GetSlotStatus, devFault{dropByte: 5})},
		{name: "silent reader", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{silent: true, noEcho: true}), wantErr: reader.ErrTimeout},
		{name: "echo then silence", cmd: xfr, opts: short, fault: faultOn(ccid.XfrBlock, devFault{silent: true}), wantErr: reader.ErrTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // mostly waiting
			ctx := testCtx(t, 10*time.Second)
			p, d := newFakeLine(t)
			p.trickle.Store(c.trickle)
			d.mu.Lock()
			d.powered = true
			d.mu.Unlock()
			d.setFault(c.fault)
			l := newSerialLine(p)
			start := time.Now()
			a, err := l.exchange(ctx, c.cmd, c.opts)
			if el := time.Since(start); el > c.opts.cap+time.Second {
				t.Errorf("exchange took %v", el)
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				if a.Type != answerType(c.cmd.Type) || a.Err() != nil {
					t.Fatalf("answer %+v", a)
				}
				if c.cmd.Type == ccid.XfrBlock && len(a.Data) != 10 {
					t.Fatalf("answer data %X", a.Data)
				}
			}
			if c.check != nil {
				c.check(t, l.stats)
			}
			// Whatever happened, the line is usable again.
			d.setFault(nil)
			a, err = l.exchange(ctx, status, shortIdem)
			if err != nil || a.Type != ccid.SlotStatus {
				t.Fatalf("next exchange: %+v, %v", a, err)
			}
		})
	}
}

// TestSerialLineCancel: a cancelled wait returns the ctx error at once and
// the late answer is not taken for the next command's.
func TestSerialLineCancel(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	p, d := newFakeLine(t)
	d.setFault(faultOnce(ccid.XfrBlock, devFault{delay: 300 * time.Millisecond}))
	l := newSerialLine(p)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.exchange(cctx, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0x00, 0x84, 0x00, 0x00, 0x08}},
		exchangeOpts{timeout: time.Second, cap: time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 200*time.Millisecond {
		t.Errorf("cancel took %v", el)
	}
	a, err := l.exchange(ctx, ccid.Message{Type: ccid.GetSlotStatus}, exchangeOpts{timeout: time.Second, idempotent: true})
	if err != nil || a.Type != ccid.SlotStatus {
		t.Fatalf("next exchange: %+v, %v", a, err)
	}
	if l.stats.Stale == 0 {
		t.Errorf("late answer not seen as stale")
	}
}

// TestSerialLinePortGone: a port that fails mid-exchange is a typed error,
// not a hang.
func TestSerialLinePortGone(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	p, d := newFakeLine(t)
	d.setFault(faultOn(ccid.XfrBlock, devFault{silent: true}))
	l := newSerialLine(p)
	time.AfterFunc(50*time.Millisecond, func() { p.rx.close() })
	_, err := l.exchange(ctx, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0x00, 0x84, 0x00, 0x00, 0x08}},
		exchangeOpts{timeout: 5 * time.Second, cap: 5 * time.Second})
	if !errors.Is(err, reader.ErrReaderUnavailable) || !portFailed(err) {
		t.Fatalf("err = %v, want ErrReaderUnavailable", err)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("took until the test deadline")
	}
}

func TestT0Params(t *testing.T) {
	for _, c := range []struct {
		name string
		atr  []byte
		want t0Param
	}{
		{"no interface bytes", []byte{0x3B, 0x02, 0x14, 0x50}, t0Param{fidi: 0x11, wi: 0x0A}},
		{"TA1 11", []byte{0x3B, 0x10, 0x11}, t0Param{fidi: 0x11, wi: 0x0A}},
		{"TA1 96 PPS", []byte{0x3B, 0x10, 0x96}, t0Param{fidi: 0x96, wi: 0x0A, pps: []byte{0xFF, 0x10, 0x96, 0x79}}},
		{"TA1 97 too fast for a Twin", []byte{0x3B, 0x10, 0x97}, t0Param{fidi: 0x11, wi: 0x0A}},
		{"inverse, TC1", []byte{0x3F, 0x40, 0x05}, t0Param{fidi: 0x11, tccks: 0x02, guard: 0x05, wi: 0x0A}},
		{"TC2 WI", []byte{0x3B, 0x80, 0x40, 0x20}, t0Param{fidi: 0x11, wi: 0x20}},
		{"specific mode TA2", []byte{0x3B, 0x90, 0x95, 0x10, 0x00}, t0Param{fidi: 0x95, wi: 0x0A}},
		{"truncated", []byte{0x3B, 0xF0, 0x95}, t0Param{fidi: 0x11, wi: 0x0A}},
		{"T=1 first: no PPS", []byte{0x3B, 0x90, 0x95, 0x01}, t0Param{fidi: 0x11, wi: 0x0A}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := t0Params(c.atr, 344086)
			if got.fidi != c.want.fidi || got.tccks != c.want.tccks || got.guard != c.want.guard || got.wi != c.want.wi ||
				string(got.pps) != string(c.want.pps) {
				t.Errorf("t0Params(% X) = %+v, want %+v", c.atr, got, c.want)
			}
		})
	}
}
