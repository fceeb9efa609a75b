package ccid

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// chunkReader returns its data in the given chunk sizes (the last size
// repeats), then (0, nil) forever: a serial port whose read timeout expired.
type chunkReader struct {
	data   []byte
	sizes  []int
	reads  int
	idle   int // (0, nil) reads after the data ran out
	err    error
	inline int // every inline-th read returns (0, nil) while data remains
}

func (r *chunkReader) Read(p []byte) (int, error) {
	r.reads++
	if r.inline > 0 && r.reads%r.inline == 0 {
		return 0, nil
	}
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.idle++
		return 0, nil
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		n = r.sizes[0]
		if len(r.sizes) > 1 {
			r.sizes = r.sizes[1:]
		}
	}
	n = min(n, len(r.data), len(p))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

var past = time.Unix(1, 0)

func frameOf(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return AppendFrame(nil, b)
}

func TestAppendFrame(t *testing.T) {
	msg := mustHex(t, "65 00000000 00 00 000000")
	got := AppendFrame([]byte{0xEE}, msg)
	want := mustHex(t, "EE 03 06 65 00000000 00 00 000000 60")
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame = % X, want % X", got, want)
	}
	if LRC(got[1:]) != 0 {
		t.Fatal("frame does not XOR to 0")
	}
}

func TestDecoderSequence(t *testing.T) {
	echo := frameOf(t, Message{Type: XfrBlock, Seq: 5})
	answer := frameOf(t, Message{Type: DataBlock, Seq: 5, Data: []byte{0x90, 0x00}})
	var stream []byte
	stream = append(stream, 0x50, 0x02)
	stream = append(stream, echo...)
	stream = append(stream, 0x80)
	stream = append(stream, 0xFF)
	stream = append(stream, NAKFrame()...)
	stream = append(stream, 0x50, 0x03)
	stream = append(stream, answer...)

	type want struct {
		kind    FrameKind
		msg     []byte
		present bool
	}
	wants := []want{
		{FrameNotify, nil, false},
		{FrameMessage, echo[2 : len(echo)-1], false},
		{FrameTimeRequest, nil, false},
		{FrameTimeRequest, nil, false},
		{FrameNAK, nil, false},
		{FrameNotify, nil, true},
		{FrameMessage, answer[2 : len(answer)-1], false},
	}
	for _, sizes := range [][]int{{len(stream)}, {1}, {2}, {3}, {7}, {13, 1, 0, 4}} {
		r := &chunkReader{data: bytes.Clone(stream), sizes: sizes, inline: 3}
		d := NewDecoder(r)
		for i, w := range wants {
			f, err := d.Next(time.Now().Add(time.Second))
			if err != nil {
				t.Fatalf("sizes %v frame %d: %v", sizes, i, err)
			}
			if f.Kind != w.kind || f.Present != w.present || !bytes.Equal(f.Message, w.msg) {
				t.Fatalf("sizes %v frame %d = %+v, want %+v", sizes, i, f, w)
			}
		}
		if _, err := d.Next(past); !errors.Is(err, ErrTimeout) {
			t.Fatalf("sizes %v: after the stream err = %v, want ErrTimeout", sizes, err)
		}
	}
}

// Frame.Message stays valid until the next call even if more bytes were
// read behind it.
func TestDecoderMessageStable(t *testing.T) {
	a := frameOf(t, Message{Type: DataBlock, Data: []byte{1, 2, 3}})
	b := frameOf(t, Message{Type: SlotStatus, Seq: 1})
	d := NewDecoder(bytes.NewReader(append(bytes.Clone(a), b...)))
	f, err := d.Next(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Message, a[2:len(a)-1]) {
		t.Fatalf("first = % X", f.Message)
	}
	g, err := d.Next(time.Time{})
	if err != nil || !bytes.Equal(g.Message, b[2:len(b)-1]) {
		t.Fatalf("second = % X, %v", g.Message, err)
	}
	if _, err := d.Next(time.Time{}); err != io.EOF {
		t.Fatalf("at end err = %v, want io.EOF", err)
	}
}

func TestDecoderTruncated(t *testing.T) {
	full := frameOf(t, Message{Type: Escape, Data: []byte("GemPC Twin")})
	for _, frame := range [][]byte{full, NAKFrame(), {0x50, 0x03}} {
		for i := 1; i < len(frame); i++ {
			r := &chunkReader{data: bytes.Clone(frame[:i])}
			_, err := NewDecoder(r).Next(past)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("% X prefix %d: err = %v, want ErrTimeout", frame, i, err)
			}
		}
	}
	// The rest arriving later completes the frame.
	r := &chunkReader{data: bytes.Clone(full[:5])}
	d := NewDecoder(r)
	if _, err := d.Next(past); !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
	r.data = bytes.Clone(full[5:])
	f, err := d.Next(past)
	if err != nil || f.Kind != FrameMessage || !bytes.Equal(f.Message, full[2:len(full)-1]) {
		t.Fatalf("after timeout: %+v, %v", f, err)
	}
}

func TestDecoderErrors(t *testing.T) {
	good := frameOf(t, Message{Type: SlotStatus, Seq: 7})
	badLRC := bytes.Clone(good)
	badLRC[len(badLRC)-1] ^= 0x01
	tooLong := mustHex(t, "03 06 80 06010000 00 00 000000") // 262+10 > 271
	huge := mustHex(t, "03 06 80 FFFFFFFF 00 00 000000")

	tests := []struct {
		name   string
		stream []byte
		errs   []error // errors before the good frame
	}{
		{"bad LRC", badLRC, []error{ErrLRC}},
		{"garbage byte", []byte{0x00}, []error{ErrFraming}},
		{"bad control byte", []byte{0x03, 0x07}, []error{ErrFraming, ErrFraming}},
		{"stray SYNC", []byte{0x03}, []error{ErrFraming}},
		{"bad NAK", []byte{0x03, 0x15, 0x17}, []error{ErrFraming, ErrFraming}},
		{"bad notice", []byte{0x50, 0x04}, []error{ErrFraming, ErrFraming}},
		// The SYNC, ACK, type and dwLength are dropped; the rest of the
		// header is scanned as garbage.
		{"too long", tooLong, []error{ErrTooLong, ErrFraming, ErrFraming, ErrFraming, ErrFraming, ErrFraming}},
		{"huge", huge, []error{ErrTooLong, ErrFraming, ErrFraming, ErrFraming, ErrFraming, ErrFraming}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sizes := range [][]int{nil, {1}} {
				stream := append(bytes.Clone(tt.stream), good...)
				d := NewDecoder(&chunkReader{data: stream, sizes: sizes})
				for _, want := range tt.errs {
					_, err := d.Next(past)
					if !errors.Is(err, want) || !errors.Is(err, ErrMalformed) {
						t.Fatalf("sizes %v: err = %v, want %v", sizes, err, want)
					}
					if errors.Is(want, ErrTooLong) && !errors.Is(err, ErrFraming) {
						t.Fatalf("err = %v, want ErrFraming too", err)
					}
				}
				f, err := d.Next(past)
				if err != nil || !bytes.Equal(f.Message, good[2:len(good)-1]) {
					t.Fatalf("sizes %v: then %+v, %v; want the good frame", sizes, f, err)
				}
			}
		})
	}
}

func TestDecoderMaxMessage(t *testing.T) {
	big := frameOf(t, Message{Type: DataBlock, Data: make([]byte, 300)})
	d := NewDecoder(bytes.NewReader(big))
	if _, err := d.Next(past); !errors.Is(err, ErrTooLong) {
		t.Fatalf("default limit: err = %v", err)
	}
	d = NewDecoder(bytes.NewReader(big))
	d.MaxMessage = 310
	if f, err := d.Next(past); err != nil || len(f.Message) != 310 {
		t.Fatalf("MaxMessage 310: %d bytes, %v", len(f.Message), err)
	}
	limit := frameOf(t, Message{Type: DataBlock, Data: make([]byte, MaxSerialMessage-HeaderSize)})
	if _, err := NewDecoder(bytes.NewReader(limit)).Next(past); err != nil {
		t.Fatalf("271-byte message: %v", err)
	}
}

func TestDecoderIdleTimeout(t *testing.T) {
	r := &chunkReader{}
	start := time.Now()
	_, err := NewDecoder(r).Next(start.Add(5 * time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("took %v", el)
	}
	if r.idle > 1000 {
		t.Errorf("%d empty reads in 5 ms: the decoder spins", r.idle)
	}
	// A past deadline gives up after one empty read.
	r = &chunkReader{}
	if _, err := NewDecoder(r).Next(past); !errors.Is(err, ErrTimeout) || r.reads != 1 {
		t.Fatalf("past deadline: %v after %d reads", err, r.reads)
	}
}

func TestDecoderReaderError(t *testing.T) {
	boom := errors.New("port closed")
	good := frameOf(t, Message{Type: SlotStatus})
	// Data that comes with an error is served first.
	d := NewDecoder(&chunkReader{data: append(bytes.Clone(good), 0x03), err: boom})
	if f, err := d.Next(past); err != nil || f.Kind != FrameMessage {
		t.Fatalf("%+v, %v", f, err)
	}
	if _, err := d.Next(past); err != boom {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	d.Discard()
	if _, err := d.Next(past); err != boom {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}
