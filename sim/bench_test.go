package sim

import "testing"

func BenchmarkCardTransmit(b *testing.B) {
	c := newCard(b, "gen2", Contact)
	if resp := c.Transmit(h(selSSSENoFCI)); hx(resp) != "9000" {
		b.Fatalf("select: %X", resp)
	}
	cmd := h("00B2012C12") // READ RECORD 1 of EF05, exact Le
	b.ReportAllocs()
	for b.Loop() {
		if resp := c.Transmit(cmd); len(resp) != 20 {
			b.Fatalf("%X", resp)
		}
	}
}
