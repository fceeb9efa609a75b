package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/sscard/ssc/sscd"
)

// keepAlive is the interval of SSE comments that keep idle streams (and
// proxies in front of them) from timing out.
const keepAlive = 25 * time.Second

// handleEvents streams reader and card events as server-sent events: a
// snapshot first, then every change in order. A client that fell behind the
// history gets a new snapshot.
func (d *Daemon) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, sscd.Errorf(sscd.CodeInternal, "streaming not supported"))
		return
	}
	release, err := d.acquireStream(r)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(d.streams, cancel)
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()

	sendSnapshot := func() (uint64, <-chan struct{}, error) {
		rs, seq, changed := d.state.snapshot()
		return seq, changed, writeEvent(w, sscd.Event{Seq: seq, Type: sscd.EventSnapshot, Time: time.Now(), Readers: rs})
	}
	d.streamWriteDeadline(w)
	seq, changed, err := sendSnapshot()
	for err == nil {
		fl.Flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.streamWriteDeadline(w)
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
			continue
		case <-changed:
		}
		evs, ch, ok := d.state.since(seq)
		if !ok {
			seq, changed, err = sendSnapshot()
			continue
		}
		changed = ch
		d.streamWriteDeadline(w)
		for _, ev := range evs {
			if err = writeEvent(w, ev); err != nil {
				break
			}
			seq = ev.Seq
		}
	}
}

func writeEvent(w http.ResponseWriter, ev sscd.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data)
	return err
}
