package store

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// TokenQuery selects tokens for ListTokens: every non-zero field is a term, and a token must
// match all of them (AND). Results come in creation order (created_at, then id); Start is the
// Next of the previous page.
type TokenQuery struct {
	Type string
	// ContainerPrefix matches tokens with a container under it, by whole segments: "/pci/"
	// matches "/pci/high/", and "/pci" is read as "/pci/".
	ContainerPrefix string
	Fingerprint     string
	Metadata        map[string]string // each key with exactly this value
	// Data are exact values of the tokens' search indexes (Token.SearchValues): matched by
	// keyed hash only, so a token whose indexes do not yield the value is not found.
	Data []string
	// IDs limits the results to these tokens.
	IDs   []string
	Start string // cursor: "" for the first page
	Size  int    // page size, 1..1000; 0 means 20
}

// TokenPage is a page of ListTokens. Next is "" on the last page.
type TokenPage struct {
	Tokens []*Token
	Next   string
}

// MaxTokenPage bounds a page of ListTokens.
const MaxTokenPage = 1000

// Every token is indexed under terms: keyed hashes (vaultKeys.tag) of one field value each.
// A query intersects the posting lists of its terms, each ordered by the tokens' position.
const (
	termAll         = "all" // every token: the list without filters
	termType        = "type"
	termContainer   = "container"
	termFingerprint = "fingerprint"
	termMetadata    = "metadata"
	termData        = "data"
)

// tagLen is the length of a term (vaultKeys.tag).
const tagLen = 16

// searchTags are the keyed hashes of a token's search index values.
func (k *vaultKeys) searchTags(values []string) [][]byte {
	out := make([][]byte, 0, len(values))
	for _, v := range values {
		out = append(out, k.tag(termData, v))
	}
	return out
}

// tokenTerms are the terms t is indexed under, without repeats.
func (k *vaultKeys) tokenTerms(t *Token) [][]byte {
	terms := [][]byte{k.tag(termAll, ""), k.tag(termType, t.Type)}
	if t.Fingerprint != "" {
		terms = append(terms, k.tag(termFingerprint, t.Fingerprint))
	}
	for _, c := range t.Containers {
		for _, p := range containerPrefixes(c) {
			terms = append(terms, k.tag(termContainer, p))
		}
	}
	for mk, mv := range t.Metadata {
		terms = append(terms, k.tag(termMetadata, mk+"\x00"+mv))
	}
	terms = append(terms, t.searchTags...)
	slices.SortFunc(terms, bytes.Compare)
	return slices.CompactFunc(terms, bytes.Equal)
}

// containerPrefixes are the whole-segment prefixes of container c: "/pci/high/" has "/",
// "/pci/" and "/pci/high/".
func containerPrefixes(c string) []string {
	c = segmentPrefix(c)
	var out []string
	for i := 0; i < len(c); i++ {
		if c[i] == '/' {
			out = append(out, c[:i+1])
		}
	}
	return out
}

// segmentPrefix makes c end with "/" (and start with it).
func segmentPrefix(c string) string {
	if !strings.HasPrefix(c, "/") {
		c = "/" + c
	}
	if !strings.HasSuffix(c, "/") {
		c += "/"
	}
	return c
}

// queryTerms are the terms of q, at least one.
func (k *vaultKeys) queryTerms(q *TokenQuery) [][]byte {
	terms := [][]byte{k.tag(termAll, "")}
	if q.Type != "" {
		terms = append(terms, k.tag(termType, q.Type))
	}
	if q.ContainerPrefix != "" {
		terms = append(terms, k.tag(termContainer, segmentPrefix(q.ContainerPrefix)))
	}
	if q.Fingerprint != "" {
		terms = append(terms, k.tag(termFingerprint, q.Fingerprint))
	}
	for mk, mv := range q.Metadata {
		terms = append(terms, k.tag(termMetadata, mk+"\x00"+mv))
	}
	for _, v := range q.Data {
		terms = append(terms, k.tag(termData, v))
	}
	if len(terms) > 1 {
		terms = terms[1:] // the others select already
	}
	return terms
}

// matches checks what the vault can of q on a token it read (the terms other than Data; the
// index already matched those): a guard against a term's hash colliding.
func (q *TokenQuery) matches(t *Token) bool {
	if q.Type != "" && t.Type != q.Type || q.Fingerprint != "" && t.Fingerprint != q.Fingerprint {
		return false
	}
	for mk, mv := range q.Metadata {
		if v, ok := t.Metadata[mk]; !ok || v != mv {
			return false
		}
	}
	if q.ContainerPrefix == "" {
		return true
	}
	p := segmentPrefix(q.ContainerPrefix)
	return slices.ContainsFunc(t.Containers, func(c string) bool { return strings.HasPrefix(segmentPrefix(c), p) })
}

// A token's position in list order: 8 bytes of big-endian creation time (Unix nanoseconds,
// offset to sort negative ones first), then its id. Positions never change while the token
// lives, so paging by position visits each token once however many are created meanwhile.

func tokenPos(t *Token) []byte {
	var ns int64
	if !t.CreatedAt.IsZero() {
		ns = t.CreatedAt.UnixNano()
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(t.ID)), uint64(ns)^1<<63)
	return append(b, t.ID...)
}

// posID is the token id of a position.
func posID(p []byte) string { return string(p[8:]) }

func encodeCursor(p []byte) string { return base64.RawURLEncoding.EncodeToString(p) }

// TokenCursor is the Start of the page after t: the cursor of a page that ends with t.
func TokenCursor(t *Token) string { return encodeCursor(tokenPos(t)) }

// decodeCursor reads a Start cursor: the position of the last token of the previous page.
func decodeCursor(s string) ([]byte, error) {
	p, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(p) < 8 || !storable(string(p[8:])) || encodeCursor(p) != s { // one spelling per cursor
		return nil, fmt.Errorf("%w: start is not a cursor from this API", ErrInvalidInput)
	}
	return p, nil
}

// checkQuery normalizes q's size and refuses what no token can match.
func checkQuery(q *TokenQuery) error {
	switch {
	case q.Size <= 0:
		q.Size = 20
	case q.Size > MaxTokenPage:
		q.Size = MaxTokenPage
	}
	return nil
}

// pageOf orders the tokens found by position, keeps those after start and at most size, and
// sets Next when more may follow.
func pageOf(found []*Token, start []byte, size int) TokenPage {
	slices.SortFunc(found, func(a, b *Token) int { return bytes.Compare(tokenPos(a), tokenPos(b)) })
	var page TokenPage
	for _, t := range found {
		if start != nil && bytes.Compare(tokenPos(t), start) <= 0 {
			continue
		}
		if len(page.Tokens) == size {
			page.Next = encodeCursor(tokenPos(page.Tokens[size-1]))
			break
		}
		page.Tokens = append(page.Tokens, t)
	}
	return page
}
