package sim

import "github.com/sscard/ssc/apdu"

// Link-layer behaviour (sim-profile §7): how response data reaches the host.

const insGetResponse = 0xC0

// lengthByte encodes an available length in SW2 of 61xx/6Cxx (256 -> 00).
func lengthByte(n int) byte {
	if n >= 256 {
		return 0
	}
	return byte(n)
}

func sw61(n int) apdu.StatusWord { return apdu.StatusWord(0x6100) | apdu.StatusWord(lengthByte(n)) }
func sw6C(n int) apdu.StatusWord { return apdu.StatusWord(0x6C00) | apdu.StatusWord(lengthByte(n)) }

// respond delivers the COS result of a command over the link.
//
// Contact (T=0): a case 3/4 command (with command data) whose result has
// data answers 61xx and leaves the data for GET RESPONSE. A case 1/2 command
// carries its Le in P3: P3 = 00 (also a case 1 command, whose P3 is 00 on
// T=0) answers 61xx; P3 at least the data length returns the data with
// 9000; a shorter P3 answers 6Cxx with the right length. (A longer Le is
// not 6Cxx: the real 2nd-gen trace of ssc-facts §1.2 answers 00 B2 07 28 0E
// with the 11-byte record and 9000, and §1.3 asks simulators to accept
// Le >= the record length.)
//
// Contactless: no 61xx; Le absent, 00 or at least the data length returns
// the data; a shorter Le answers 6Cxx.
//
// Extended-length commands (only accepted when the profile switches
// extended length on) get the data and the status directly in both modes
// (SIM: 61xx cannot announce more than 256 bytes, so the contact mode
// behaves as if the reader carried the extended APDU, e.g. T=1 or a
// reader-side envelope); a shorter Ne answers 6Cxx as in contactless mode.
func (c *Card) respond(cmd apdu.Command, data []byte, status apdu.StatusWord) []byte {
	if len(data) == 0 {
		return sw(status)
	}
	if c.mode == Contactless || cmd.Extended {
		if cmd.Ne != 0 && cmd.Ne < len(data) {
			return sw(sw6C(len(data)))
		}
		return withSW(data, status)
	}
	if len(cmd.Data) == 0 {
		switch ne := cmd.Ne; {
		case ne == 0 || ne == apdu.MaxShortNe:
			// P3 = 00: announce, fetch with GET RESPONSE.
		case ne < len(data):
			return sw(sw6C(len(data)))
		default:
			return withSW(data, status)
		}
	}
	c.pending = append(c.pendBuf[:0], data...)
	c.pendingSW = status
	return sw(sw61(len(c.pending)))
}

// getResponse serves GET RESPONSE 00 C0 00 00 Le. Errors leave the pending
// data in place; no pending data answers 6F00 (ssc-facts §9.3).
func (c *Card) getResponse(cmd apdu.Command) []byte {
	switch {
	case cmd.Extended:
		return sw(apdu.SWWrongLength)
	case cmd.P1 != 0 || cmd.P2 != 0:
		return sw(apdu.SWWrongP1P2)
	case len(cmd.Data) != 0:
		return sw(apdu.SWWrongLength)
	case len(c.pending) == 0:
		return sw(apdu.SWNoPreciseDiagnosis)
	}
	n := cmd.Ne
	switch {
	case n == 0 || n == apdu.MaxShortNe: // Le = 00: up to 256 bytes
		n = min(len(c.pending), apdu.MaxShortNe)
	case n > len(c.pending):
		return sw(sw6C(len(c.pending)))
	}
	chunk := c.pending[:n]
	c.pending = c.pending[n:]
	if len(c.pending) > 0 {
		return withSW(chunk, sw61(len(c.pending)))
	}
	c.pending = nil
	return withSW(chunk, c.pendingSW)
}
