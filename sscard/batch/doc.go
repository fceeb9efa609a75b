// Package batch issues a file of write-info lines onto the blank cards of
// many readers at once (a card centre's multi-slot encoders): one worker
// per card, each card a write session of package sscard, every step in one
// fsynced journal, which is the source of truth of a rerun
// (docs/issuance.md, batch issuance).
//
// The guarantee: a line is bound to a card (journal step batch.assign)
// only once the card's write session is ready and the card has been found
// blank or holding this line's holder, and before its first UPDATE RECORD;
// a line bound to card X is only ever written to X again. A crash at any
// point therefore never leaves one holder's data on two cards.
package batch
