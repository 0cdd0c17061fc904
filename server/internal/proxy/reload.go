package proxy

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/sluice-edge/sluice/store"
)

// Reload reads proxy id from the vault again and puts what it finds into service: the changed
// proxy, or none when it was deleted. Nodes sharing a vault call it when another node changed it.
func (s *Pipeline) Reload(ctx context.Context, id string) error {
	doc, err := s.store.Get(ctx, store.Proxies, id)
	if errors.Is(err, store.ErrNotFound) {
		s.Remove(id)
		return nil
	}
	if err != nil {
		return err
	}
	defer clear(doc) // holds the proxy key and configuration secrets
	p, err := s.decodeProxy(doc)
	if err != nil {
		return err
	}
	s.proxies.put(p)
	return nil
}

// ReloadAll replaces every proxy in service with the vault's, at once: requests see either the
// old set or the new one.
func (s *Pipeline) ReloadAll(ctx context.Context) error {
	docs, err := s.store.List(ctx, store.Proxies)
	if err != nil {
		return err
	}
	fresh := newProxyRegistry()
	for _, d := range docs {
		p, err := s.decodeProxy(d)
		clear(d)
		if err != nil {
			return err
		}
		fresh.put(p)
	}
	s.proxies.replace(fresh)
	return nil
}

// decodeProxy turns a stored proxy into one ready for invocation.
func (s *Pipeline) decodeProxy(doc []byte) (*Definition, error) {
	var p Definition
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, err
	}
	for _, list := range [][]Transform{p.RequestTransforms, p.ResponseTransforms} {
		for i := range list {
			list[i].compile()
		}
	}
	s.prepareProxy(&p)
	return &p, nil
}

func newProxyRegistry() *proxyRegistry {
	return &proxyRegistry{byID: map[string]*Definition{}, byKey: map[string]*Definition{}}
}

// replace takes fresh's proxies in place of r's.
func (r *proxyRegistry) replace(fresh *proxyRegistry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID, r.byKey = fresh.byID, fresh.byKey
}
