package pcsctest

import "testing"

// The test binary is also the card process of StartCardProcessWith.
func TestMain(m *testing.M) { MainWithCards(m, BuiltinCard) }
