package sscard

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// padCard is the software card behind a keypad that "types" pin (and, for
// a change, newPIN) into the reader's templates; it counts the PIN
// operations the keypad ran.
type padCard struct {
	reader.Card
	pin, newPIN string
	ops         int
}

func (p *padCard) PINPadFeatures(context.Context) (reader.PINPadFeatures, error) {
	return reader.PINPadFeatures{Verify: true, Modify: true}, nil
}

func (p *padCard) VerifyPINPad(ctx context.Context, v ccid.PINVerify) ([]byte, error) {
	p.ops++
	b, err := encodePIN(p.pin)
	if err != nil {
		return nil, err
	}
	return p.Card.Transmit(ctx, append(append([]byte(nil), v.APDU[:5]...), b[:]...))
}

func (p *padCard) ModifyPINPad(ctx context.Context, m ccid.PINModify) ([]byte, error) {
	p.ops++
	o, err := encodePIN(p.pin)
	if err != nil {
		return nil, err
	}
	n, err := encodePIN(p.newPIN)
	if err != nil {
		return nil, err
	}
	return p.Card.Transmit(ctx, append(append(append([]byte(nil), m.APDU[:5]...), o[:]...), n[:]...))
}

// pinBearing reports whether a raw command presents a PIN: VERIFY with
// data, CHANGE REFERENCE DATA, RESET RETRY COUNTER.
func pinBearing(cmd []byte) bool {
	if len(cmd) < 4 {
		return false
	}
	switch cmd[1] {
	case 0x20:
		return len(cmd) > 5
	case 0x24, 0x2C:
		return true
	}
	return false
}

func (r *recorder) pinCommands() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		if pinBearing(c) {
			n++
		}
	}
	return n
}

// TestPINGuardEveryPath brings each PIN of the card to one try left and
// checks that every call presenting it refuses the last try without
// Force — no PIN-bearing command sent (host or keypad), the counter still
// at 1 — uses it with Force, and refuses a blocked PIN without sending it.
func TestPINGuardEveryPath(t *testing.T) {
	ctx := context.Background()
	const wrong = "999999"
	type path struct {
		name   string
		status func(tc *testCard) (int, error)
		// present presents a wrong PIN through the path.
		present func(tc *testCard, pad *padCard, opts PINOptions) error
		tries   int // the PIN's try counter when fresh
	}
	ssseStatus := func(tc *testCard) (int, error) { return tc.sess.PINStatus(ctx) }
	pkiStatus := func(tc *testCard) (int, error) { return tc.sess.PKI().PINStatus(ctx) }
	adminStatus := func(tc *testCard) (int, error) {
		var n int
		err := tc.sess.do(ctx, func() error {
			if err := tc.sess.selectPKI(ctx); err != nil {
				return err
			}
			var err error
			n, err = tc.sess.pinTries(ctx, pinRefPKIAdmin)
			return err
		})
		return n, err
	}
	paths := []path{
		{"verify", ssseStatus, func(tc *testCard, _ *padCard, o PINOptions) error { return tc.sess.VerifyPIN(ctx, wrong, o) }, 3},
		{"change", ssseStatus, func(tc *testCard, _ *padCard, o PINOptions) error {
			return tc.sess.ChangePIN(ctx, wrong, "112233", o)
		}, 3},
		{"verify on the PIN pad", ssseStatus, func(tc *testCard, _ *padCard, o PINOptions) error { return tc.sess.VerifyPINPad(ctx, o) }, 3},
		{"change on the PIN pad", ssseStatus, func(tc *testCard, _ *padCard, o PINOptions) error { return tc.sess.ChangePINPad(ctx, o) }, 3},
		{"PKI verify", pkiStatus, func(tc *testCard, _ *padCard, o PINOptions) error { return tc.sess.PKI().VerifyPIN(ctx, wrong, o) }, 3},
		{"PKI admin verify", adminStatus, func(tc *testCard, _ *padCard, o PINOptions) error {
			return tc.sess.PKI().VerifyAdminPIN(ctx, [4]byte{9, 9, 9, 9}, o)
		}, 5},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			pad := &padCard{pin: wrong, newPIN: "112233"}
			tc := openSimOpts(t, "gen3", sim.Contact, Options{})
			pad.Card = tc.card
			// A session on the keypad reader (same card, same recorder).
			var err error
			tc.sess, err = Open(ctx, pad, Options{WrapTransport: func(in apdu.Transport) apdu.Transport {
				tc.rec = &recorder{inner: in}
				return tc.rec
			}})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := p.status(tc); err != nil || n != p.tries {
				t.Fatalf("fresh: %d tries, %v", n, err)
			}
			var ae *apdu.AuthError
			for i := p.tries - 1; i >= 1; i-- {
				if err := p.present(tc, pad, PINOptions{}); !errors.As(err, &ae) || ae.Retries != i {
					t.Fatalf("wrong PIN, want %d tries left: %v", i, err)
				}
			}
			sent, ops := tc.rec.pinCommands(), pad.ops
			err = p.present(tc, pad, PINOptions{})
			if !errors.Is(err, ErrPINLastTry) {
				t.Fatalf("last try without Force: %v", err)
			}
			if tc.rec.pinCommands() != sent || pad.ops != ops {
				t.Fatal("a PIN was presented with one try left and no Force")
			}
			if n, err := p.status(tc); err != nil || n != 1 {
				t.Fatalf("after the refusal: %d tries, %v", n, err)
			}
			// Force spends the last try: the PIN is blocked.
			if err := p.present(tc, pad, PINOptions{Force: true}); !errors.Is(err, apdu.ErrBlocked) && !errors.As(err, &ae) {
				t.Fatalf("forced last try: %v", err)
			}
			sent, ops = tc.rec.pinCommands(), pad.ops
			err = p.present(tc, pad, PINOptions{Force: true})
			if !errors.Is(err, ErrPINBlocked) || !errors.Is(err, apdu.ErrBlocked) {
				t.Fatalf("blocked: %v", err)
			}
			if tc.rec.pinCommands() != sent || pad.ops != ops {
				t.Fatal("a PIN was presented to a blocked PIN")
			}
		})
	}
}

// TestPINCommandsOnlyInGuard keeps presentPIN the only place that sends a
// PIN: in the package's sources, a command literal of VERIFY with data,
// CHANGE REFERENCE DATA or RESET RETRY COUNTER, and a call of the reader's
// keypad (VerifyPINPad, ModifyPINPad on a reader.PINPad), may appear only
// inside presentPIN.
func TestPINCommandsOnlyInGuard(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			inGuard := ok && fd.Name.Name == "presentPIN"
			ast.Inspect(decl, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					if pinCommandLit(n) {
						checked++
						if !inGuard {
							t.Errorf("%s: a PIN-bearing command outside presentPIN (sscard/pinguard.go)", fset.Position(n.Pos()))
						}
					}
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "VerifyPINPad" || sel.Sel.Name == "ModifyPINPad") {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "s" {
							return true // Session's own methods
						}
						checked++
						if !inGuard {
							t.Errorf("%s: a PIN-pad operation outside presentPIN (sscard/pinguard.go)", fset.Position(n.Pos()))
						}
					}
				}
				return true
			})
		}
	}
	if checked < 5 {
		t.Errorf("found %d PIN commands in presentPIN, want the 4 commands and 2 keypad calls: is the check still looking?", checked)
	}
}

// pinCommandLit: an apdu.Command literal with INS 20 and a Data field, or
// INS 24 or 2C.
func pinCommandLit(cl *ast.CompositeLit) bool {
	sel, ok := cl.Type.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Command" {
		return false
	}
	var ins int64 = -1
	hasData := false
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch k, _ := kv.Key.(*ast.Ident); {
		case k == nil:
		case k.Name == "INS":
			if lit, ok := kv.Value.(*ast.BasicLit); ok {
				ins, _ = strconv.ParseInt(lit.Value, 0, 64)
			}
		case k.Name == "Data":
			hasData = true
		}
	}
	return (ins == 0x20 && hasData) || ins == 0x24 || ins == 0x2C
}
