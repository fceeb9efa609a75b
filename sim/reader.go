package sim

import "github.com/sscard/ssc/apdu"

// This file is the contactless READER, not the card: PC/SC part 3
// pseudo-APDUs (CLA FF) that a PC/SC contactless reader answers itself and
// never sends to the card's COS. The simulator plays that reader in
// Contactless mode only.

const (
	claReader     = 0xFF
	insReaderData = 0xCA // GET DATA
)

// readerCommand answers FF CA (GET DATA): P1 = 00 returns the UID (the Type
// B PUPI). Other pseudo-APDUs go to the card. ok is false when cmd is not
// for the reader.
func (c *Card) readerCommand(cmd []byte) (resp []byte, ok bool) {
	if len(cmd) < 2 || cmd[0] != claReader || cmd[1] != insReaderData {
		return nil, false
	}
	command, err := apdu.ParseCommand(cmd)
	switch {
	case err != nil || len(command.Data) != 0 || command.Extended:
		return sw(apdu.SWWrongLength), true
	case command.P1 == 0x01: // ATS historical bytes: ISO 14443 Type A only
		return sw(apdu.SWFunctionNotSupported), true
	case command.P1 != 0x00 || command.P2 != 0x00:
		return sw(apdu.SWWrongP1P2), true
	}
	uid := c.uid
	switch ne := command.Ne; {
	case ne == 0 || ne == apdu.MaxShortNe || ne == len(uid):
		return withSW(uid, apdu.SWOK), true
	case ne < len(uid):
		return sw(sw6C(len(uid))), true
	default:
		return withSW(uid, apdu.SWEndOfFile), true
	}
}
