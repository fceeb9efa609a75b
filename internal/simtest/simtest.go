// Package simtest gives tests a software card in an in-process reader:
// the few lines every package's tests otherwise repeat.
package simtest

import (
	"context"
	"testing"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// Card makes a contact software card of a built-in profile; edit, when
// set, changes the profile first (another holder, no bank application...).
func Card(tb testing.TB, profile string, edit func(*sim.Profile)) *sim.Card {
	tb.Helper()
	p, err := sim.Builtin(profile)
	if err != nil {
		tb.Fatal(err)
	}
	if edit != nil {
		edit(p)
	}
	c, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Connect puts chip into an in-process reader and connects to it
// exclusively; both are closed when the test ends.
func Connect(tb testing.TB, chip reader.Chip) reader.Card {
	tb.Helper()
	b := reader.NewChipBackend("r")
	tb.Cleanup(func() { b.Close() })
	if err := b.Insert("r", chip); err != nil {
		tb.Fatal(err)
	}
	card, err := b.Connect(context.Background(), "r", reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { card.Close() })
	return card
}
