package daemon

import (
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
