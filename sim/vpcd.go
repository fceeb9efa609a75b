package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DefaultVPCDAddr is where Debian's vsmartcard-vpcd listens for the first slot.
const DefaultVPCDAddr = "127.0.0.1:35963"

// Chip is what a link front end needs from a card. *Card implements it.
type Chip interface {
	ATR() []byte
	PowerOn()
	PowerOff()
	Reset()
	// Transmit processes one command APDU and always returns a response of
	// at least two bytes.
	Transmit(cmd []byte) []byte
}

// vpcd control codes (one-byte messages from the driver).
const (
	vpcdPowerOff = 0x00
	vpcdPowerOn  = 0x01
	vpcdReset    = 0x02
	vpcdGetATR   = 0x04
)

// VPCD connects a card to the vpcd virtual reader driver of pcscd, so that
// PC/SC applications see it as a card in a real reader. Being connected is
// "card inserted"; closing the connection is "card removed".
type VPCD struct {
	Addr string // default DefaultVPCDAddr
	Card Chip
	// RetryInterval is the pause between connection attempts while vpcd
	// (that is, pcscd) is not there; default 200 ms.
	RetryInterval time.Duration
	// Logf, if set, receives connection state changes.
	Logf func(format string, args ...any)

	mu        sync.Mutex
	connected chan struct{}
}

// Connected returns a channel closed once the card is connected to vpcd.
func (v *VPCD) Connected() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.connected == nil {
		v.connected = make(chan struct{})
	}
	return v.connected
}

func (v *VPCD) setConnected(on bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.connected == nil {
		v.connected = make(chan struct{})
	}
	select {
	case <-v.connected:
		if !on {
			v.connected = make(chan struct{})
		}
	default:
		if on {
			close(v.connected)
		}
	}
}

func (v *VPCD) logf(format string, args ...any) {
	if v.Logf != nil {
		v.Logf(format, args...)
	}
}

// Serve keeps the card inserted until ctx is done, reconnecting whenever vpcd
// goes away (pcscd restarted). It returns nil when ctx ends; removing the
// card is cancelling ctx.
func (v *VPCD) Serve(ctx context.Context) error {
	if v.Card == nil {
		return errors.New("sim: VPCD needs a card")
	}
	addr := v.Addr
	if addr == "" {
		addr = DefaultVPCDAddr
	}
	retry := v.RetryInterval
	if retry <= 0 {
		retry = 200 * time.Millisecond
	}
	var d net.Dialer
	failing := false
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			failing = false
			v.logf("vpcd: connected to %s (card inserted)", addr)
			err = v.serveConn(ctx, conn.(*net.TCPConn))
			v.setConnected(false)
			if ctx.Err() != nil {
				v.logf("vpcd: disconnected (card removed)")
				return nil
			}
			v.logf("vpcd: connection lost: %v; reconnecting", err)
		} else if ctx.Err() != nil {
			return nil
		} else if !failing {
			failing = true
			v.logf("vpcd: cannot reach %s: %v; retrying every %v", addr, err, retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

func (v *VPCD) serveConn(ctx context.Context, conn *net.TCPConn) error {
	// Closing the connection is the only way to interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	quickAck := func() { _ = raw.Control(setQuickAck) }
	_ = conn.SetNoDelay(true)
	v.setConnected(true)
	v.Card.PowerOn()
	defer v.Card.PowerOff()

	var hdr [2]byte
	buf := make([]byte, 0, 512)
	out := make([]byte, 0, 512)
	for {
		if err := readFull(conn, hdr[:], quickAck); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if err := readFull(conn, buf, quickAck); err != nil {
			return err
		}
		var reply []byte
		switch {
		case n == 0:
			return fmt.Errorf("sim: vpcd sent an empty message")
		case n == 1:
			switch buf[0] {
			case vpcdPowerOff:
				v.Card.PowerOff()
			case vpcdPowerOn:
				v.Card.PowerOn()
			case vpcdReset:
				v.Card.Reset()
			case vpcdGetATR:
				reply = v.Card.ATR()
			default:
				// Unknown control codes get no reply, as vpcd expects none.
				v.logf("vpcd: ignoring control code %02X", buf[0])
			}
			if reply == nil {
				continue
			}
		default:
			reply = v.Card.Transmit(buf)
		}
		// One write for length and payload keeps the exchange to one segment.
		out = append(out[:0], byte(len(reply)>>8), byte(len(reply)))
		out = append(out, reply...)
		if _, err := conn.Write(out); err != nil {
			return err
		}
	}
}

func readFull(conn *net.TCPConn, b []byte, beforeRead func()) error {
	for off := 0; off < len(b); {
		beforeRead()
		n, err := conn.Read(b[off:])
		off += n
		if err != nil {
			if errors.Is(err, io.EOF) && off > 0 && off < len(b) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}
