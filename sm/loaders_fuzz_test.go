package sm_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// FuzzParseCAKeyTable feeds CA key table files (the terminal CA public
// keys an operator configures): never a panic; a table that parses has
// keys, and writing its lines back gives the same table.
func FuzzParseCAKeyTable(f *testing.F) {
	f.Add([]byte("# comment\n\nA000000333 01 " + strings.Repeat("11", 64) + "\n"))
	f.Add([]byte("A000000333 1 04" + strings.Repeat("22", 64) + "\n"))
	f.Add([]byte("A000000333 01 " + strings.Repeat("11", 63) + "\n"))
	f.Add([]byte("A000000333 100 00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := sm.ParseCAKeyTable(bytes.NewReader(data), "fuzz")
		if err != nil {
			if tab != nil {
				t.Fatalf("table and error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if tab.Len() == 0 {
			t.Fatal("empty table accepted")
		}
		// Re-parse only the key lines (the last definition of a key wins in
		// both, so the same table comes back).
		var out strings.Builder
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
			if line != "" && !strings.HasPrefix(line, "#") {
				fmt.Fprintln(&out, line)
			}
		}
		again, err := sm.ParseCAKeyTable(strings.NewReader(out.String()), "again")
		if err != nil || again.Len() != tab.Len() {
			t.Fatalf("key lines alone: %v (%d keys, want %d)", err, lenOf(again), tab.Len())
		}
	})
}

func lenOf(t *sm.CAKeyTable) int {
	if t == nil {
		return -1
	}
	return t.Len()
}

// FuzzAppendPEM feeds PEM files of trusted roots: never a panic; on an
// error nothing is added; what is added re-encodes to PEM that parses to
// the same certificates.
func FuzzAppendPEM(f *testing.F) {
	rootPEM, err := simkeys.RootCertificatePEM()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rootPEM)
	f.Add(append(append([]byte(nil), rootPEM...), rootPEM...))
	f.Add(rootPEM[:len(rootPEM)/2])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := sm.NewCertPool()
		err := p.AppendPEM(data)
		if err != nil {
			if p.Len() != 0 {
				t.Fatalf("error %v but %d roots added", err, p.Len())
			}
			if !errors.Is(err, sm.ErrCertMalformed) && !errors.Is(err, sm.ErrCertNotSM2) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var pemOut bytes.Buffer
		for _, c := range p.Certificates() {
			fmt.Fprintf(&pemOut, "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n", base64.StdEncoding.EncodeToString(c.Raw))
		}
		q := sm.NewCertPool()
		if err := q.AppendPEM(pemOut.Bytes()); err != nil || q.Len() != p.Len() {
			t.Fatalf("re-encoded roots: %v (%d, want %d)", err, q.Len(), p.Len())
		}
		for i, c := range q.Certificates() {
			if !bytes.Equal(c.Raw, p.Certificates()[i].Raw) {
				t.Fatalf("root %d differs after re-encoding", i)
			}
		}
	})
}
