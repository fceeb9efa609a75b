package link_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sm/simkeys"
)

// FuzzVerify runs bundle JSON through ParseBundle and Verify with the SIM
// root and the nonce the platform issued: never a panic; every refusal
// wraps a link sentinel; an accepted bundle has the platform's origin and
// nonce, and a nonce book that never issued the nonce refuses it.
func FuzzVerify(f *testing.F) {
	const origin = "https://ecard.example.cn"
	nonce := bytes.Repeat([]byte{7}, 32)
	good := simCardBundle(origin, nonce)
	f.Add(good)
	f.Add(bytes.Replace(good, []byte("A12345678"), []byte("A12345679"), 1))
	f.Add(good[:len(good)/2])
	roots, err := simkeys.RootPool()
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sentinels := []error{link.ErrMalformed, link.ErrOrigin, link.ErrNonce, link.ErrNonceExpired, link.ErrNonceReplayed,
		link.ErrUntrusted, link.ErrCardMismatch, link.ErrSignature, link.ErrLevel, link.ErrBankBlocked, link.ErrFieldTooLong}
	typed := func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := link.ParseBundle(data)
		if err != nil {
			return // FuzzParseBundle covers the parser
		}
		v, err := link.Verify(b, link.Options{Roots: roots, Origin: origin, Nonce: nonce, Time: at})
		if err != nil {
			if v != nil || !typed(err) {
				t.Fatalf("Verify = %v, %v", v, err)
			}
			return
		}
		if v.Bundle.Origin != origin || !bytes.Equal(v.Bundle.Nonce, nonce) {
			t.Fatalf("accepted origin %q nonce %X", v.Bundle.Origin, v.Bundle.Nonce)
		}
		book := link.NewNonceBook(time.Minute)
		if _, err := link.Verify(b, link.Options{Roots: roots, Origin: origin, Nonces: book, Time: at}); !errors.Is(err, link.ErrNonce) {
			t.Fatalf("nonce the book never issued: %v", err)
		}
	})
}
