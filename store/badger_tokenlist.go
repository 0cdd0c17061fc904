package store

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Badger keeps a posting per token and term: prefixPosting + term + position, no value, with
// the token's expiry. A query walks the postings of its terms in position order, leapfrogging:
// each iterator seeks the largest position any other found, until all agree.

const prefixPosting = "x/"

func postingPrefix(term []byte) []byte {
	return append(append(make([]byte, 0, len(prefixPosting)+tagLen+64), prefixPosting...), term...)
}

// indexTerms stages t's postings.
func (s *badgerStore) indexTerms(txn *badger.Txn, t *Token) error {
	pos := tokenPos(t)
	for _, term := range s.tokenTerms(t) {
		if err := txn.SetEntry(ttlEntry(append(postingPrefix(term), pos...), nil, t.ExpiresAt)); err != nil {
			return err
		}
	}
	return nil
}

// unindexTerms stages the removal of old's postings.
func (s *badgerStore) unindexTerms(txn *badger.Txn, old *Token) error {
	pos := tokenPos(old)
	for _, term := range s.tokenTerms(old) {
		if err := txn.Delete(append(postingPrefix(term), pos...)); err != nil {
			return err
		}
	}
	return nil
}

// successor is the smallest position after p (positions hold no NUL past their time).
func successor(p []byte) []byte { return append(slices.Clip(p), 0) }

func (s *badgerStore) ListTokens(ctx context.Context, q TokenQuery) (TokenPage, error) {
	if err := checkQuery(&q); err != nil {
		return TokenPage{}, err
	}
	var start []byte
	if q.Start != "" {
		var err error
		if start, err = decodeCursor(q.Start); err != nil {
			return TokenPage{}, err
		}
	}
	if q.IDs != nil {
		return s.listByIDs(ctx, &q, start)
	}
	var page TokenPage
	err := s.db.View(func(txn *badger.Txn) error {
		var found []*Token
		target := []byte{}
		if start != nil {
			target = successor(start)
		}
		terms := s.queryTerms(&q)
		its := make([]*badger.Iterator, len(terms))
		prefixes := make([][]byte, len(terms))
		for i, term := range terms {
			prefixes[i] = postingPrefix(term)
			its[i] = txn.NewIterator(badger.IteratorOptions{Prefix: prefixes[i]})
			defer its[i].Close()
			its[i].Seek(append(prefixes[i], target...))
		}
		for len(found) <= q.Size {
			if err := ctx.Err(); err != nil {
				return err
			}
			pos, ok := leapfrog(its, prefixes, target)
			if !ok {
				break
			}
			t, err := s.readToken(txn, posID(pos))
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return err
			case bytes.Equal(tokenPos(t), pos) && q.matches(t) && s.hasData(t, q.Data):
				found = append(found, t)
			}
			target = successor(pos)
		}
		page = pageOf(found, start, q.Size)
		return nil
	})
	return page, mapErr(err)
}

// leapfrog finds the first position at or after target that every iterator's postings hold.
// An iterator already at or past target stays; one just behind it steps (cheaper than a seek).
func leapfrog(its []*badger.Iterator, prefixes [][]byte, target []byte) ([]byte, bool) {
	for {
		agreed := true
		for i, it := range its {
			if !it.Valid() {
				return nil, false
			}
			pos := it.Item().Key()[len(prefixes[i]):]
			if bytes.Compare(pos, target) < 0 {
				if bytes.Equal(successor(pos), target) {
					it.Next()
				} else {
					it.Seek(append(prefixes[i], target...))
				}
				if !it.Valid() {
					return nil, false
				}
				pos = it.Item().Key()[len(prefixes[i]):]
			}
			if !bytes.Equal(pos, target) {
				agreed = false
				target = bytes.Clone(pos)
			}
		}
		if agreed {
			return target, true
		}
	}
}

// hasData says whether t's search indexes yielded every value of data.
func (k *vaultKeys) hasData(t *Token, data []string) bool {
	for _, v := range data {
		tag := k.tag(termData, v)
		if !slices.ContainsFunc(t.searchTags, func(x []byte) bool { return bytes.Equal(x, tag) }) {
			return false
		}
	}
	return true
}

// listByIDs answers a query limited to some ids: it reads them and checks the other terms.
func (s *badgerStore) listByIDs(ctx context.Context, q *TokenQuery, start []byte) (TokenPage, error) {
	return listByIDs(ctx, s, s.vaultKeys, q, start)
}

// listByIDs reads the tokens of q.IDs with g and keeps those matching q's other terms.
func listByIDs(ctx context.Context, g tokenGetter, k *vaultKeys, q *TokenQuery, start []byte) (TokenPage, error) {
	if len(q.IDs) > MaxTokenPage {
		return TokenPage{}, errInvalid("too many ids in a token query")
	}
	m, err := g.GetTokens(ctx, q.IDs)
	if err != nil {
		return TokenPage{}, err
	}
	var found []*Token
	for _, t := range m {
		if q.matches(t) && k.hasData(t, q.Data) {
			found = append(found, t)
		}
	}
	return pageOf(found, start, q.Size), nil
}
