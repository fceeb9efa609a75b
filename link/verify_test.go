package link_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

func opts(t testing.TB, nonce []byte) link.Options {
	return link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: nonce, Time: verifyTime}
}

func TestVerifyPositive(t *testing.T) {
	c := testCard(t)
	for _, level := range []int{link.Level1, link.Level2} {
		nonce := testNonce()
		b := c.bundle(t, level, testOrigin, nonce)
		for _, min := range []int{0, link.Level1, level} {
			o := opts(t, nonce)
			o.MinLevel = min
			v, err := link.Verify(b, o)
			if err != nil {
				t.Fatalf("level %d, MinLevel %d: %v", level, min, err)
			}
			if v.Bundle != b || v.Certificate == nil || len(v.Chain) != 2 || v.Chain[0] != v.Certificate {
				t.Fatalf("level %d: Verified = %+v", level, v)
			}
			if v.Certificate.Subject.SerialNumber != testCardNumber {
				t.Errorf("certificate serialNumber %q", v.Certificate.Subject.SerialNumber)
			}
			if !v.Chain[1].Equal(simRootCA(t).cert) {
				t.Error("chain does not end at the SIM root")
			}
		}
		// The zero Time is now: the SIM certificates are valid until 2034.
		o := opts(t, nonce)
		o.Time = time.Time{}
		if _, err := link.Verify(b, o); err != nil {
			t.Fatalf("level %d at time.Now: %v", level, err)
		}
	}
}

func TestVerifyNonceBook(t *testing.T) {
	c := testCard(t)
	book := link.NewNonceBook(time.Minute)
	nonce, err := book.Issue()
	if err != nil {
		t.Fatal(err)
	}
	b := c.bundle(t, link.Level2, testOrigin, nonce)
	o := link.Options{Roots: simRoots(t), Origin: testOrigin, Nonces: book, Time: verifyTime}
	if _, err := link.Verify(b, o); err != nil {
		t.Fatal(err)
	}
	_, err = link.Verify(b, o)
	if !errors.Is(err, link.ErrNonceReplayed) {
		t.Fatalf("replayed bundle: %v, want ErrNonceReplayed", err)
	}

	// A nonce the book did not issue.
	other := c.bundle(t, link.Level1, testOrigin, testNonce())
	if _, err := link.Verify(other, o); !errors.Is(err, link.ErrNonce) {
		t.Fatalf("unknown nonce: %v, want ErrNonce", err)
	}

	// An expired one.
	now := time.Now()
	book = link.NewNonceBook(time.Minute)
	link.SetNonceClock(book, func() time.Time { return now })
	nonce, _ = book.Issue()
	b = c.bundle(t, link.Level1, testOrigin, nonce)
	now = now.Add(time.Minute)
	o.Nonces = book
	if _, err := link.Verify(b, o); !errors.Is(err, link.ErrNonceExpired) {
		t.Fatalf("expired nonce: %v, want ErrNonceExpired", err)
	}
}

// A bundle that fails any check must not use up the nonce: the legitimate
// bundle still verifies afterwards.
func TestVerifyForgeryDoesNotBurnNonce(t *testing.T) {
	c := testCard(t)
	thief := newCard(t, "110100D15600000500112233445566FF", "B87654321")
	other := newRootCA(t, "Other Root")
	book := link.NewNonceBook(0)
	nonce, err := book.Issue()
	if err != nil {
		t.Fatal(err)
	}
	o := link.Options{Roots: simRoots(t), Origin: testOrigin, Nonces: book, Time: verifyTime, MinLevel: link.Level2}

	forgeries := map[string]*link.Bundle{}
	f := c.bundle(t, link.Level2, testOrigin, nonce)
	f.Card.Name = "李四"
	forgeries["tampered"] = f
	f = c.bundle(t, link.Level2, testOrigin, nonce)
	f.Proof.Signature[3] ^= 1
	forgeries["bad signature"] = f
	f = thief.bundle(t, link.Level2, testOrigin, nonce)
	f.Card = c.data
	thief.sign(t, f)
	forgeries["another card's certificate"] = f
	f = c.bundle(t, link.Level2, testOrigin, nonce)
	f.Proof.Certificates = [][]byte{other.issue(t, c.key, "张三", testCardNumber, false)}
	forgeries["untrusted"] = f
	forgeries["level 1"] = c.bundle(t, link.Level1, testOrigin, nonce)
	f = c.bundle(t, link.Level2, testOrigin, nonce)
	f.Bank.Blocked = true
	c.sign(t, f)
	forgeries["blocked"] = f
	forgeries["origin"] = c.bundle(t, link.Level2, "https://evil.example", nonce)
	f = c.bundle(t, link.Level2, testOrigin, nonce)
	f.Version = 2
	forgeries["malformed"] = f

	for name, f := range forgeries {
		if _, err := link.Verify(f, o); err == nil || errors.Is(err, link.ErrNonceReplayed) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := link.Verify(c.bundle(t, link.Level2, testOrigin, nonce), o); err != nil {
		t.Fatalf("legitimate bundle after the forgeries: %v", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	c := testCard(t)
	thief := newCard(t, "110100D15600000500112233445566FF", "B87654321")
	other := newRootCA(t, "Other Root")
	nonce := testNonce()

	tests := []struct {
		name   string
		bundle func() *link.Bundle
		opts   func(*link.Options)
		want   []error
		msg    string // part of the message
	}{
		{name: "wrong origin",
			bundle: func() *link.Bundle { return c.bundle(t, 1, "https://evil.example", nonce) },
			want:   []error{link.ErrOrigin}, msg: `origin "https://evil.example" is not the expected "https://ecard.example.cn"`},
		{name: "origin differs by port",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin+":8443", nonce) },
			want:   []error{link.ErrOrigin}},
		{name: "wrong nonce",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, bytes.Repeat([]byte{7}, 32)) },
			want:   []error{link.ErrNonce}, msg: "is not the issued"},
		{name: "nonce prefix",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, append(bytes.Clone(nonce), 0)) },
			want:   []error{link.ErrNonce}},
		{name: "certificate from another root",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Proof.Certificates = [][]byte{other.issue(t, c.key, "张三", testCardNumber, false)}
				return b
			},
			want: []error{link.ErrUntrusted, sm.ErrCertUntrusted}, msg: "certificate chain"},
		{name: "another root's certificate with the SIM root appended",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				root, _ := simkeys.RootCertificateDER()
				b.Proof.Certificates = [][]byte{other.issue(t, c.key, "张三", testCardNumber, false), root}
				return b
			},
			want: []error{link.ErrUntrusted}},
		{name: "self-signed other root trusted nowhere",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Proof.Certificates = [][]byte{other.cert.Raw}
				return b
			},
			want: []error{link.ErrUntrusted}},
		{name: "certificate expired",
			bundle: func() *link.Bundle { return c.bundle(t, 2, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Time = certNotAfter.Add(time.Hour) },
			want:   []error{link.ErrUntrusted, sm.ErrCertExpired}},
		{name: "certificate not yet valid",
			bundle: func() *link.Bundle { return c.bundle(t, 2, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Time = certNotBefore.Add(-time.Hour) },
			want:   []error{link.ErrUntrusted, sm.ErrCertNotYetValid}},
		{name: "CA certificate as the card's",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				root, _ := simkeys.RootCertificateDER()
				b.Proof.Certificates = [][]byte{root}
				return b
			},
			want: []error{link.ErrUntrusted}},
		{name: "garbage certificate",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Proof.Certificates = [][]byte{{0x30, 0x03, 0x02, 0x01, 0x01}}
				return b
			},
			want: []error{link.ErrMalformed, sm.ErrCertMalformed}},
		{name: "another card signs this card's data",
			bundle: func() *link.Bundle {
				b := thief.bundle(t, 2, testOrigin, nonce)
				b.Card = c.data
				thief.sign(t, b)
				return b
			},
			want: []error{link.ErrCardMismatch}, msg: `serialNumber "B87654321" is not the card number "A12345678"`},
		{name: "card number tampered (binding)",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 1, testOrigin, nonce)
				b.Card.CardNumber = "B87654321"
				return b
			},
			want: []error{link.ErrCardMismatch}},
		{name: "custom binding refuses",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts: func(o *link.Options) {
				o.Binding = link.BindingFunc(func(cert *smx509.Certificate, cd *link.Card) error {
					return errors.New("card id not in the certificate")
				})
			},
			want: []error{link.ErrCardMismatch}, msg: "card id not in the certificate"},
		{name: "certificate without serialNumber",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 1, testOrigin, nonce)
				b.Proof.Certificates = [][]byte{simRootCA(t).issue(t, c.key, "张三", "", false)}
				return b
			},
			want: []error{link.ErrCardMismatch}, msg: "no subject serialNumber"},
		{name: "signature flipped",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Proof.Signature[63] ^= 0x80
				return b
			},
			want: []error{link.ErrSignature}},
		{name: "signature zero",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Proof.Signature = make([]byte, 64)
				return b
			},
			want: []error{link.ErrSignature, sm.ErrSM2Signature}},
		{name: "MinLevel 2, level 1 bundle",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.MinLevel = 2 },
			want:   []error{link.ErrLevel}, msg: "level 1, at least 2 required"},
		{name: "blocked bank application",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Bank.Blocked = true
				c.sign(t, b)
				return b
			},
			want: []error{link.ErrBankBlocked}},
		{name: "malformed",
			bundle: func() *link.Bundle {
				b := c.bundle(t, 2, testOrigin, nonce)
				b.Bank = nil
				return b
			},
			want: []error{link.ErrMalformed}, msg: "without a bank account"},
		{name: "nil bundle", bundle: func() *link.Bundle { return nil }, want: []error{link.ErrMalformed}},
		{name: "no roots",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Roots = nil },
			want:   []error{link.ErrOptions}},
		{name: "empty roots",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Roots = sm.NewCertPool() },
			want:   []error{link.ErrUntrusted}},
		{name: "no origin",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Origin = "" },
			want:   []error{link.ErrOptions}},
		{name: "no nonce",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Nonce = nil },
			want:   []error{link.ErrOptions}},
		{name: "nonce and book",
			bundle: func() *link.Bundle { return c.bundle(t, 1, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.Nonces = link.NewNonceBook(0) },
			want:   []error{link.ErrOptions}},
		{name: "MinLevel 3",
			bundle: func() *link.Bundle { return c.bundle(t, 2, testOrigin, nonce) },
			opts:   func(o *link.Options) { o.MinLevel = 3 },
			want:   []error{link.ErrOptions}},
	}
	sentinels := []error{link.ErrMalformed, link.ErrOrigin, link.ErrNonce, link.ErrNonceExpired,
		link.ErrNonceReplayed, link.ErrUntrusted, link.ErrCardMismatch, link.ErrSignature,
		link.ErrLevel, link.ErrBankBlocked, link.ErrOptions}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, nonce)
			if tt.opts != nil {
				tt.opts(&o)
			}
			v, err := link.Verify(tt.bundle(), o)
			if err == nil || v != nil {
				t.Fatalf("Verify = %v, %v; want an error", v, err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("error %q wraps %d of the package's sentinels, want 1", err, n)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// Every signed field changed after signing breaks the signature.
func TestVerifyTamperedFields(t *testing.T) {
	c := testCard(t)
	nonce := testNonce()
	tests := []struct {
		name   string
		level  int
		tamper func(b *link.Bundle)
	}{
		{"origin", 2, func(b *link.Bundle) { b.Origin = "https://ecard.example.com" }},
		{"nonce", 2, func(b *link.Bundle) { b.Nonce[0] ^= 1 }},
		{"level 2 to 1", 2, func(b *link.Bundle) { b.Level, b.Bank = 1, nil }},
		{"level 1 to 2", 1, func(b *link.Bundle) { b.Level, b.Bank = 2, &c.bank }},
		{"card_id", 2, func(b *link.Bundle) { b.Card.CardID = "411600D156000005005A3C9E17B2D40E" }},
		{"card_id case", 2, func(b *link.Bundle) { b.Card.CardID = strings.ToLower(b.Card.CardID) }},
		{"card_number", 2, func(b *link.Bundle) { b.Card.CardNumber = "A12345679" }},
		{"ssn", 2, func(b *link.Bundle) { b.Card.SSN = "41160219900101123X" }},
		{"name", 2, func(b *link.Bundle) { b.Card.Name = "张四" }},
		{"region", 2, func(b *link.Bundle) { b.Card.Region = "411602" }},
		{"spec_version", 2, func(b *link.Bundle) { b.Card.SpecVersion = "2.00" }},
		{"issue_date", 2, func(b *link.Bundle) { b.Card.IssueDate = "20240102" }},
		{"expiry_date", 2, func(b *link.Bundle) { b.Card.ExpiryDate = "20440101" }},
		{"bank.aid", 2, func(b *link.Bundle) { b.Bank.AID = "A000000333010106" }},
		{"bank.pan", 2, func(b *link.Bundle) { b.Bank.PAN = "6217991000001234562" }},
		{"bank.expiry", 2, func(b *link.Bundle) { b.Bank.Expiry = "321231" }},
		{"bank.blocked", 2, func(b *link.Bundle) { b.Bank.Blocked = true }},
		{"bank.blocked reset", 2, func(b *link.Bundle) {}}, // signed blocked, sent unblocked: see below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := c.bundle(t, tt.level, testOrigin, nonce)
			if tt.name == "bank.blocked reset" {
				b.Bank.Blocked = true
				c.sign(t, b)
				b.Bank.Blocked = false
			}
			tt.tamper(b)
			if err := b.Check(); err != nil {
				t.Fatalf("tampered bundle is malformed (test bug): %v", err)
			}
			o := opts(t, b.Nonce)
			o.Origin = b.Origin
			o.Binding = anyBinding
			_, err := link.Verify(b, o)
			if !errors.Is(err, link.ErrSignature) || !errors.Is(err, sm.ErrSM2Verify) {
				t.Fatalf("Verify: %v, want ErrSignature", err)
			}
		})
	}
}

// A chain through an intermediate CA, sent after the card's certificate.
func TestVerifyIntermediate(t *testing.T) {
	c := testCard(t)
	root := simRootCA(t)
	interKey := keyFromSeed(t, "SSC link test intermediate")
	interDER := root.issue(t, interKey, "SSC Test Intermediate CA", "", true)
	inter, err := sm.ParseCertificate(interDER)
	if err != nil {
		t.Fatal(err)
	}
	issuer := &ca{key: interKey, cert: inter}
	b := c.bundle(t, link.Level2, testOrigin, testNonce())
	b.Proof.Certificates = [][]byte{issuer.issue(t, c.key, "张三", testCardNumber, false), interDER}
	v, err := link.Verify(b, opts(t, testNonce()))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Chain) != 3 || !v.Chain[1].Equal(inter) || !v.Chain[2].Equal(root.cert) {
		t.Fatalf("chain of %d certificates", len(v.Chain))
	}
	// Without the intermediate the chain does not build.
	b.Proof.Certificates = b.Proof.Certificates[:1]
	if _, err := link.Verify(b, opts(t, testNonce())); !errors.Is(err, link.ErrUntrusted) {
		t.Fatalf("without the intermediate: %v", err)
	}
}

func TestSIMBinding(t *testing.T) {
	c := testCard(t)
	cert, err := sm.ParseCertificate(c.cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := link.SIMBinding().Check(cert, &c.data); err != nil {
		t.Fatal(err)
	}
	d := c.data
	d.CardNumber = "a12345678"
	if err := link.SIMBinding().Check(cert, &d); err == nil {
		t.Fatal("case-changed card number accepted")
	}
	if err := link.SIMBinding().Check(nil, &d); err == nil {
		t.Fatal("nil certificate accepted")
	}
}
