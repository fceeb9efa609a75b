package sim

// contactATR is 3B 6D 00 00 + 13 historical bytes (ssc-facts §5.2): direct
// convention, TB1 = TC1 = 00, no TD1 (T=0 only), so no TCK.
func contactATR(hist []byte) []byte {
	atr := []byte{0x3B, 0x60 | byte(len(hist)&0x0F), 0x00, 0x00}
	return append(atr, hist...)
}

// contactlessATR is the ATR a PC/SC reader builds for an ISO 14443-4 Type B
// card (PC/SC part 3 §3.1.3.2.3.2): 3B 88 80 01, 8 historical bytes = ATQB
// application data (4) + protocol info (3) + MBLI/CID (1), then TCK so that
// T0..TCK XOR to zero.
func contactlessATR(cl *contactlessData) []byte {
	atr := []byte{0x3B, 0x88, 0x80, 0x01}
	atr = append(atr, cl.appData...)
	atr = append(atr, cl.protocolInfo...)
	atr = append(atr, cl.mbliCID)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}
