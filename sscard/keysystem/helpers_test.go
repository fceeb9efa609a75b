package keysystem_test

import (
	"context"
	"testing"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// issueWriteInfo is the holder the tests issue to a blank card.
const issueWriteInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|"

// openSession opens a session on a software card of a built-in profile.
func openSession(t *testing.T, profile string) *sscard.Session {
	t.Helper()
	s, err := sscard.Open(context.Background(), simtest.Connect(t, simtest.Card(t, profile, nil)), sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testWriteInfo(t *testing.T) *sscard.WriteInfo {
	t.Helper()
	w, err := sscard.ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// issuedBlankSession issues issueWriteInfo to a blank 3rd-gen card with
// the SIM key system.
func issuedBlankSession(t *testing.T) (*sscard.Session, []byte) {
	t.Helper()
	w := testWriteInfo(t)
	s := openSession(t, "gen3-blank")
	if _, err := sscard.Issue(context.Background(), s, w, sscard.IssueOptions{HSM: keysystem.SIM{}, WriteKey: keysystem.SIM{}}); err != nil {
		t.Fatal(err)
	}
	return s, w.CardID
}
