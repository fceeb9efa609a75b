// Package serial is the backend of serial (RS-232) CCID readers of the
// GemPC Twin family, spoken to directly without pcscd (see New).
package serial
