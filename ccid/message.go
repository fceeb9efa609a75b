package ccid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MessageType is bMessageType, the first byte of a CCID message.
type MessageType byte

// Host-to-reader (PC_to_RDR_*) and reader-to-host (RDR_to_PC_*) messages.
const (
	IccPowerOn    MessageType = 0x62
	IccPowerOff   MessageType = 0x63
	GetSlotStatus MessageType = 0x65
	XfrBlock      MessageType = 0x6F
	GetParameters MessageType = 0x6C
	SetParameters MessageType = 0x61
	Escape        MessageType = 0x6B
	Secure        MessageType = 0x69
	Abort         MessageType = 0x72

	DataBlock        MessageType = 0x80
	SlotStatus       MessageType = 0x81
	Parameters       MessageType = 0x82
	EscapeResponse   MessageType = 0x83
	NotifySlotChange MessageType = 0x50
)

// HeaderSize is the size of the CCID message header.
const HeaderSize = 10

// MaxSerialMessage is dwMaxCCIDMessageLength of the serial GemPC readers:
// a message is at most 271 bytes (261 bytes of TPDU in an XfrBlock).
const MaxSerialMessage = 271

// Message is one CCID message. Param holds header bytes 7..9: the
// command-specific bytes of a PC_to_RDR message, or bStatus, bError and the
// specific byte of a RDR_to_PC answer.
type Message struct {
	Type  MessageType
	Slot  byte
	Seq   byte
	Param [3]byte
	Data  []byte
}

// ICC status (bStatus bits 1..0).
const (
	ICCActive   = 0 // present and powered
	ICCInactive = 1 // present, not powered
	ICCAbsent   = 2
)

// Command status (bStatus bits 7..6).
const (
	CommandOK            = 0
	CommandFailed        = 1
	CommandTimeExtension = 2
)

// Selected bError values (CCID §6.2.6; libccid's use).
const (
	ErrCodeCommandNotSupported byte = 0x00
	ErrCodeICCMute             byte = 0xFE // card absent or mute
	ErrCodeXfrParity           byte = 0xFD
	ErrCodeHWError             byte = 0xFB
	ErrCodeBadATRTS            byte = 0xF8
	ErrCodePINTimeout          byte = 0xF0
	ErrCodePINCancelled        byte = 0xEF
	ErrCodeCmdSlotBusy         byte = 0xE0
)

// Errors. ErrMalformed is wrapped by every decoding error.
var (
	ErrMalformed = errors.New("ccid: malformed message")
	ErrTooLong   = errors.New("ccid: message too long")
)

// Status, Error: see the methods below.

// ICCStatus returns bmICCStatus of an answer (bStatus bits 1..0).
func (m Message) ICCStatus() int { return int(m.Param[0] & 0x03) }

// CommandStatus returns bmCommandStatus of an answer (bStatus bits 7..6).
func (m Message) CommandStatus() int { return int(m.Param[0] >> 6) }

// ErrorCode returns bError of an answer.
func (m Message) ErrorCode() byte { return m.Param[1] }

// AppendBinary appends the encoded message (header with dwLength, data).
// The only error is ErrTooLong, for data that dwLength cannot express;
// transport limits such as MaxSerialMessage are the caller's to apply.
func (m Message) AppendBinary(dst []byte) ([]byte, error) {
	if uint64(len(m.Data)) > math.MaxUint32 {
		return dst, fmt.Errorf("%w: %d data bytes", ErrTooLong, len(m.Data))
	}
	dst = append(dst, byte(m.Type))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(m.Data)))
	dst = append(dst, m.Slot, m.Seq, m.Param[0], m.Param[1], m.Param[2])
	return append(dst, m.Data...), nil
}

// ParseMessage decodes exactly one message: b must be 10 + dwLength bytes.
// Errors wrap ErrMalformed. Data is a copy (nil when dwLength is 0), so the
// message outlives b (Frame.Message is reused by the decoder).
func ParseMessage(b []byte) (Message, error) {
	if len(b) < HeaderSize {
		return Message{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrMalformed, len(b), HeaderSize)
	}
	n := binary.LittleEndian.Uint32(b[1:5])
	if uint64(n) != uint64(len(b)-HeaderSize) {
		return Message{}, fmt.Errorf("%w: dwLength %d but %d data bytes", ErrMalformed, n, len(b)-HeaderSize)
	}
	m := Message{
		Type:  MessageType(b[0]),
		Slot:  b[5],
		Seq:   b[6],
		Param: [3]byte{b[7], b[8], b[9]},
	}
	if n > 0 {
		m.Data = append([]byte(nil), b[HeaderSize:]...)
	}
	return m, nil
}

// SlotError is a failed answer (bmCommandStatus = 1): the ICC status and
// bError. It matches ErrICCMute / ErrPINCancelled / ErrPINTimeout /
// ErrCommandNotSupported with errors.Is where bError says so.
type SlotError struct {
	Type      MessageType // the answer's type
	ICCStatus int
	Code      byte // bError
}

func (e *SlotError) Error() string {
	msg := fmt.Sprintf("ccid: %s failed: bError 0x%02X", typeName(e.Type), e.Code)
	if s := e.sentinel(); s != nil {
		msg += " (" + s.Error()[len("ccid: "):] + ")"
	}
	return msg + fmt.Sprintf(", ICC status %d", e.ICCStatus)
}

// Is maps bError values to the sentinels below.
func (e *SlotError) Is(target error) bool {
	s := e.sentinel()
	return s != nil && s == target
}

func (e *SlotError) sentinel() error {
	switch e.Code {
	case ErrCodeICCMute:
		return ErrICCMute
	case ErrCodePINCancelled:
		return ErrPINCancelled
	case ErrCodePINTimeout:
		return ErrPINTimeout
	case ErrCodeCommandNotSupported:
		return ErrCommandNotSupported
	}
	return nil
}

// Sentinels matched by *SlotError.
var (
	ErrICCMute             = errors.New("ccid: card absent or mute")
	ErrPINCancelled        = errors.New("ccid: PIN entry cancelled")
	ErrPINTimeout          = errors.New("ccid: PIN entry timed out")
	ErrCommandNotSupported = errors.New("ccid: command not supported by the reader")
)

// Err returns nil for a successful answer (or a time extension, which is
// not an error but a request to wait: see CommandStatus), else *SlotError.
// bmCommandStatus 3 is reserved; it is reported as a failure rather than
// trusted as success.
func (m Message) Err() error {
	switch m.CommandStatus() {
	case CommandOK, CommandTimeExtension:
		return nil
	}
	return &SlotError{Type: m.Type, ICCStatus: m.ICCStatus(), Code: m.ErrorCode()}
}

// typeName names a message type as the CCID specification does. It is not
// a String method: that would change what %X prints for callers.
func typeName(t MessageType) string {
	switch t {
	case IccPowerOn:
		return "PC_to_RDR_IccPowerOn"
	case IccPowerOff:
		return "PC_to_RDR_IccPowerOff"
	case GetSlotStatus:
		return "PC_to_RDR_GetSlotStatus"
	case XfrBlock:
		return "PC_to_RDR_XfrBlock"
	case GetParameters:
		return "PC_to_RDR_GetParameters"
	case SetParameters:
		return "PC_to_RDR_SetParameters"
	case Escape:
		return "PC_to_RDR_Escape"
	case Secure:
		return "PC_to_RDR_Secure"
	case Abort:
		return "PC_to_RDR_Abort"
	case DataBlock:
		return "RDR_to_PC_DataBlock"
	case SlotStatus:
		return "RDR_to_PC_SlotStatus"
	case Parameters:
		return "RDR_to_PC_Parameters"
	case EscapeResponse:
		return "RDR_to_PC_Escape"
	case NotifySlotChange:
		return "RDR_to_PC_NotifySlotChange"
	}
	return fmt.Sprintf("message type 0x%02X", byte(t))
}

// ErrPINLength: digits outside MinDigits..MaxDigits or not 0-9.
var ErrPINLength = errors.New("ccid: PIN length or digits not allowed")
