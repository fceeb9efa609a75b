package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// vpcdFrame frames a vpcd message: 2-byte big-endian length, payload.
func vpcdFrame(b []byte) []byte {
	return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...)
}

// vpcdReplies says which replies a stream from vpcd asks for, in order: the
// ATR for GET ATR, the card's response for an APDU, nothing for the other
// control codes; an empty message ends the connection, and so does a frame
// cut short by the end of the stream.
func vpcdReplies(stream []byte) (atr []bool) {
	for len(stream) >= 2 {
		n := int(binary.BigEndian.Uint16(stream))
		stream = stream[2:]
		if n == 0 || n > len(stream) {
			return atr
		}
		msg := stream[:n]
		stream = stream[n:]
		switch {
		case n == 1 && msg[0] == vpcdGetATR:
			atr = append(atr, true)
		case n >= 2:
			atr = append(atr, false)
		}
	}
	return atr
}

// FuzzVPCD plays vpcd to VPCD on a loopback listener the test owns and
// writes any byte stream on the connection, then ends it. Properties: no
// panic; the answers are exactly one well-formed frame per reply the stream
// asked for (the ATR for GET ATR, at least a status word for an APDU);
// the end of the stream (a length beyond it included) ends the connection
// within a deadline; and the card, reconnected, answers a SELECT of the
// social security application on a fresh connection.
func FuzzVPCD(f *testing.F) {
	sel := h(selSSSENoFCI)
	f.Add(vpcdFrame([]byte{vpcdGetATR}))
	f.Add(bytes.Join([][]byte{vpcdFrame([]byte{vpcdPowerOn}), vpcdFrame([]byte{vpcdGetATR}), vpcdFrame(sel),
		vpcdFrame(h("00B2012C00")), vpcdFrame([]byte{vpcdReset}), vpcdFrame([]byte{vpcdPowerOff})}, nil))
	f.Add(append(vpcdFrame(sel), 0xFF, 0xFF, 0x00)) // a length beyond the stream
	f.Add(append(vpcdFrame(sel), 0x00, 0x00))       // an empty message
	f.Add(bytes.Join([][]byte{vpcdFrame([]byte{0x03}), vpcdFrame([]byte{0xFF}), vpcdFrame([]byte{0x00, 0x00}), {0x01}}, nil))
	f.Add(vpcdFrame(bytes.Repeat([]byte{0x00}, 300)))
	f.Fuzz(func(t *testing.T, stream []byte) {
		if len(stream) > 16<<10 {
			return
		}
		card := newCard(t, "gen3", Contact)
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		v := &VPCD{Addr: l.Addr().String(), Card: card, RetryInterval: time.Millisecond}
		served := make(chan error, 1)
		go func() { served <- v.Serve(ctx) }()
		defer func() {
			cancel()
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Serve did not return after its context ended")
			}
		}()
		accept := func() *net.TCPConn {
			t.Helper()
			l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			c, err := l.Accept()
			if err != nil {
				t.Fatalf("VPCD did not (re)connect: %v", err)
			}
			return c.(*net.TCPConn)
		}

		conn := accept()
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		// Read while writing: replies may fill the socket buffers.
		type result struct {
			b   []byte
			err error
		}
		got := make(chan result, 1)
		go func() {
			b, err := io.ReadAll(conn)
			got <- result{b, err}
		}()
		if _, err := conn.Write(stream); err != nil && !ended(err) {
			t.Fatalf("write: %v", err)
		}
		conn.CloseWrite()
		res := <-got
		if res.err != nil && !ended(res.err) {
			// The deadline: VPCD did not end the connection.
			t.Fatalf("connection not ended after the stream: %v", res.err)
		}
		answers := res.b
		want := vpcdReplies(stream)
		for i, isATR := range want {
			if len(answers) < 2 {
				t.Fatalf("reply %d of %d missing (answers end: %X)", i+1, len(want), answers)
			}
			n := int(binary.BigEndian.Uint16(answers))
			if n > len(answers)-2 {
				t.Fatalf("reply %d: length %d beyond the %d bytes received", i+1, n, len(answers)-2)
			}
			msg := answers[2 : 2+n]
			answers = answers[2+n:]
			switch {
			case isATR && !bytes.Equal(msg, card.ATR()):
				t.Fatalf("reply %d: %X, want the ATR", i+1, msg)
			case !isATR && n < 2:
				t.Fatalf("reply %d: %X, want a response with a status word", i+1, msg)
			}
		}
		if len(answers) != 0 {
			t.Fatalf("%d bytes after the %d replies: %X", len(answers), len(want), answers)
		}

		// The card answers on a fresh connection.
		c2 := accept()
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c2.Write(vpcdFrame(sel)); err != nil {
			t.Fatal(err)
		}
		var hdr [2]byte
		if _, err := io.ReadFull(c2, hdr[:]); err != nil {
			t.Fatalf("SELECT after the stream: %v", err)
		}
		rsp := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(c2, rsp); err != nil {
			t.Fatalf("SELECT after the stream: %v", err)
		}
		if len(rsp) < 2 || rsp[len(rsp)-2] != 0x90 || rsp[len(rsp)-1] != 0x00 {
			t.Fatalf("SELECT after the stream: %X", rsp)
		}
	})
}

// ended: the peer closed its end while data was unread (an empty message
// ends the connection before the rest of the stream is read).
func ended(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
