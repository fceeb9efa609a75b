package daemon

import (
	"strconv"
	"sync"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// infoCache keeps the basic information read from a card for as long as
// that card stays in its reader (one insertion), so repeated reads of the
// same card (a hospital terminal polling, many clients) do not queue for
// the card. Nothing outlives the insertion: the entry goes when the watcher
// reports the card removed or another card inserted.
type infoCache struct {
	mu      sync.Mutex
	off     bool
	entries map[string]cacheEntry // by reader name
	// flights are the card reads in progress to fill the cache, by
	// flightKey: concurrent requests for a card not read yet wait for the
	// first one instead of each queueing for the card.
	flights map[string]*flight
}

// flight is one card read that others may wait for.
type flight struct {
	done chan struct{}
	info *sscard.BasicInfo // set before done is closed; nil: read failed
}

func flightKey(reader string, insertion uint64) string {
	return reader + "\x00" + strconv.FormatUint(insertion, 10)
}

// join returns the read in progress for insertion in reader and false, or
// a new one and true: the caller leads it and must call land.
func (c *infoCache) join(reader string, insertion uint64) (*flight, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := flightKey(reader, insertion)
	if f, ok := c.flights[k]; ok {
		return f, false
	}
	if c.flights == nil {
		c.flights = map[string]*flight{}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[k] = f
	return f, true
}

// land ends a flight with what the leader read (nil on failure: the
// waiters then read the card themselves).
func (c *infoCache) land(reader string, insertion uint64, f *flight, info *sscard.BasicInfo) {
	c.mu.Lock()
	delete(c.flights, flightKey(reader, insertion))
	c.mu.Unlock()
	if info != nil && len(info.Unavailable) == 0 {
		f.info = info
	}
	close(f.done)
}

type cacheEntry struct {
	insertion uint64
	info      *sscard.BasicInfo
}

// get returns the information of insertion in reader, if kept.
func (c *infoCache) get(reader string, insertion uint64) (*sscard.BasicInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[reader]
	if !ok || c.off || e.insertion != insertion {
		return nil, false
	}
	return e.info, true
}

// put keeps info, read from insertion in reader. Only complete readings are
// kept; the caller must not modify info afterwards.
func (c *infoCache) put(reader string, insertion uint64, info *sscard.BasicInfo) {
	if insertion == 0 || len(info.Unavailable) > 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off {
		return
	}
	if c.entries == nil {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[reader] = cacheEntry{insertion, info}
}

// observe drops what an event makes stale.
func (c *infoCache) observe(ev sscd.Event) {
	switch ev.Type {
	case sscd.EventCardRemoved, sscd.EventCardInserted, sscd.EventReaderRemoved:
		c.mu.Lock()
		if e, ok := c.entries[ev.Reader]; ok && e.insertion != ev.Insertion || ev.Type != sscd.EventCardInserted {
			delete(c.entries, ev.Reader)
		}
		c.mu.Unlock()
	}
}

// drop forgets what was kept for insertion in reader (the card turned out
// to be another one).
func (c *infoCache) drop(reader string, insertion uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[reader]; ok && e.insertion == insertion {
		delete(c.entries, reader)
	}
}

// setEnabled turns the cache on or off (off also empties it).
func (c *infoCache) setEnabled(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = !on
	if !on {
		clear(c.entries)
	}
}

// len is the number of cards kept (metrics, tests).
func (c *infoCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
