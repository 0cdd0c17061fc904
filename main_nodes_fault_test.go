package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store/storetest"
)

// TestKill9NodeUnderLoadLosesNoAcknowledgedWrite: token creations and detokenizations run
// concurrently through two nodes; one is killed with SIGKILL mid-load, the other keeps going.
// Every creation answered 201, by either node, reads back with its data on the surviving node
// and on a node started afterwards; every detokenization answered 200 reached the destination,
// and each one the destination got has its audit record.
func TestKill9NodeUnderLoadLosesNoAcknowledgedWrite(t *testing.T) {
	c := startNodes(t, 2)
	victim, survivor := c.procs[0], c.procs[1]
	dest := newDestination(t)
	const pan = "4242424242424242"
	id := survivor.newToken(t, pan)
	for _, p := range c.procs { // each node's first detokenization, slower, before the load
		p.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url).expect(t, 200)
	}
	// The kill lands on requests in flight whatever the counts before it (each worker sends
	// without pause): they only make sure both kinds of load are under way on the victim before
	// it and on the survivor after it. Every acknowledged token is read back twice.
	const workers, killAfter, thenMore, detokAfter, detokMore = 4, 30, 30, 10, 5

	var mu sync.Mutex
	acked := map[string]string{} // id → data
	// answered counts a node's acknowledgements: creations answered 201, detokenizations 200.
	type answered struct{ creations, detokenizations atomic.Int64 }
	var victimAcks, survivorAcks answered
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	// each sends requests until stop or, on the victim, until it is gone; ok says whether an
	// answer is an acknowledgement.
	each := func(p *proc, send func() (answer, error), ok func(answer) bool) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, err := send()
			if err != nil {
				if p != victim {
					t.Error(err)
				}
				return // the victim is gone: an unanswered request was not acknowledged
			}
			if !ok(a) {
				t.Errorf("on %s: %d %.200s", p.addr, a.status, a.body)
				return
			}
		}
	}
	for _, p := range []*proc{victim, survivor} {
		count := &victimAcks
		if p == survivor {
			count = &survivorAcks
		}
		for w := range workers {
			wg.Add(1)
			i, data := 0, ""
			go each(p, func() (answer, error) {
				i++
				data = fmt.Sprintf("acked-%s-%d-%d", p.addr, w, i)
				return p.try("POST", "/tokens", adminKey, map[string]any{"type": "token", "data": data})
			}, func(a answer) bool {
				var m map[string]any
				if a.status != 201 || json.Unmarshal(a.body, &m) != nil {
					return false
				}
				mu.Lock()
				acked[m["id"].(string)] = data
				mu.Unlock()
				count.creations.Add(1)
				return true
			})
		}
		wg.Add(1)
		go each(p, func() (answer, error) {
			return p.try("POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url)
		}, func(a answer) bool {
			if a.status != 200 {
				return false
			}
			count.detokenizations.Add(1)
			return true
		})
	}
	waitFor := func(what string, cond func() bool) {
		waitUntil(t, what, func() bool { return cond() || t.Failed() })
		if t.Failed() {
			t.FailNow()
		}
	}
	waitFor(fmt.Sprint(killAfter, " creations and ", detokAfter, " detokenizations acknowledged by the victim"), func() bool {
		return victimAcks.creations.Load() >= killAfter && victimAcks.detokenizations.Load() >= detokAfter
	})
	kill9(victim)
	created, detokenized := survivorAcks.creations.Load(), survivorAcks.detokenizations.Load()
	waitFor(fmt.Sprint(thenMore, " more creations and ", detokMore, " more detokenizations acknowledged by the survivor"), func() bool {
		return survivorAcks.creations.Load() >= created+thenMore && survivorAcks.detokenizations.Load() >= detokenized+detokMore
	})
	stopLoad()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("creations acknowledged: %d by the killed node, %d by the survivor", victimAcks.creations.Load(), survivorAcks.creations.Load())

	fresh := c.add(t)
	for _, p := range []*proc{survivor, fresh} {
		for id, data := range acked {
			if a := p.call(t, "GET", "/tokens/"+id, adminKey, nil); a.status != 200 || a.json(t)["data"] != data {
				t.Fatalf("acknowledged token %s on %s: %d %.200s", id, p.addr, a.status, a.body)
			}
		}
	}
	forwarded, audited := dest.holding(pan), fresh.eventCount(t, id, "detokenize")
	ok := victimAcks.detokenizations.Load() + survivorAcks.detokenizations.Load()
	t.Logf("detokenizations: %d answered 200, %d forwarded, %d audit records", ok, forwarded, audited)
	if int64(forwarded) < ok || forwarded > audited {
		t.Fatalf("%d answered 200, %d forwarded, %d audit records", ok, forwarded, audited)
	}
}

// takeDown breaks the database with down and waits until every node's /readyz answers 503. It
// returns the function that repairs it with up and waits until every node's /readyz answers
// 200; if the test ends first, up runs anyway.
func takeDown(t *testing.T, c *nodes, what string, down, up func() error) (bringBack func()) {
	t.Helper()
	if err := down(); err != nil {
		t.Fatal(err)
	}
	back := false
	t.Cleanup(func() {
		if !back {
			up()
		}
	})
	for i, n := range c.procs {
		waitUntil(t, fmt.Sprintf("database %s: node %d /readyz 503", what, i+1), func() bool { return n.readyzStatus(t) == 503 })
	}
	return func() {
		t.Helper()
		if err := up(); err != nil {
			t.Fatal(err)
		}
		back = true
		for i, n := range c.procs {
			waitUntil(t, fmt.Sprintf("database back: node %d /readyz 200", i+1), func() bool { return n.readyzStatus(t) == 200 })
		}
	}
}

// unavailable checks a 503 answer of a node whose database is down: RFC 7807, wrapped in
// proxy_error on proxy routes, with no plaintext.
func unavailable(t *testing.T, what string, a answer, wrapped bool, secret string) {
	t.Helper()
	m := a.json(t)
	if wrapped {
		pe, ok := m["proxy_error"].(map[string]any)
		if !ok {
			t.Fatalf("%s: not a proxy_error: %d %s", what, a.status, a.body)
		}
		m = pe
	}
	if a.status != 503 || m["status"] != float64(503) || m["title"] == nil {
		t.Fatalf("%s: %d %s", what, a.status, a.body)
	}
	if secret != "" && bytes.Contains(a.body, []byte(secret)) {
		t.Fatalf("%s: the answer holds the plaintext", what)
	}
}

// TestDatabaseStoppedEveryNodeAnswers503ThenRecovers: three nodes detokenize through the proxy
// without pause while PostgreSQL is stopped and started again. While it is down every node says
// so on /readyz and answers writes, reveals, detokenizations, unknown keys and /logs with 503;
// the destination receives no request whose audit record is not in the database (it counts
// what it got; the audit log counts what was recorded); once it is back every node serves
// again without a restart.
func TestDatabaseStoppedEveryNodeAnswers503ThenRecovers(t *testing.T) {
	c := startNodes(t, 3) // starts the throwaway cluster, if pgtest runs one
	pg := storetest.PostgresServer()
	if pg == nil {
		t.Skip("needs the PostgreSQL pgtest starts (not SLUICE_TEST_DATABASE_URL) to stop and start it")
	}
	dest := newDestination(t)
	const pan = "4242424242424242"
	n1 := c.procs[0]
	id := n1.newToken(t, pan)
	app := n1.call(t, "POST", "/applications", adminKey, map[string]any{"name": "w", "type": "private", "permissions": []string{"token:create", "token:read"}}).expect(t, 201).json(t)
	appKey := app["key"].(string)
	unused := n1.call(t, "POST", "/applications", adminKey, map[string]any{"name": "u", "type": "private", "permissions": []string{"token:read"}}).expect(t, 201).json(t)["key"].(string)
	for _, n := range c.procs { // the token and the keys in every node's caches
		n.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url).expect(t, 200)
		n.call(t, "GET", "/tokens/"+id, appKey, nil).expect(t, 200)
	}

	// Load through every node, before, during and after the outage: each answer is 200 or 503.
	// Each worker sends the next request as soon as it has an answer, except after a 503: then
	// it pauses a little, as a client told to retry later does, rather than spin on refusals.
	var ok, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, n := range c.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, err := n.try("POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url)
				switch {
				case err != nil:
					t.Error(err)
					return
				case a.status == 200:
					ok.Add(1)
				case a.status == 503:
					refused.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					t.Errorf("detokenization during the outage: %d %.300s", a.status, a.body)
					return
				}
			}
		}()
	}
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()

	bringBack := takeDown(t, c, "stopped", pg.Stop, pg.Start)
	refusedBefore := refused.Load()
	for i, n := range c.procs {
		what := func(s string) string { return fmt.Sprintf("node %d, database down: %s", i+1, s) }
		unavailable(t, what("create"), n.call(t, "POST", "/tokens", adminKey, cardData(pan)), false, pan)
		unavailable(t, what("create by an application"), n.call(t, "POST", "/tokens", appKey, cardData(pan)), false, pan)
		unavailable(t, what("reveal"), n.call(t, "GET", "/tokens/"+id, adminKey, nil), false, pan)
		unavailable(t, what("a key in no cache"), n.call(t, "GET", "/tokens/"+id, unused, nil), false, pan)
		unavailable(t, what("detokenization"), n.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url), true, pan)
		unavailable(t, what("logs"), n.call(t, "GET", "/logs", adminKey, nil), false, "")
	}
	waitUntil(t, "the load refused while the database is down", func() bool { return refused.Load() > refusedBefore+int64(len(c.procs)) })

	bringBack()
	okBefore := ok.Load()
	waitUntil(t, "the load served again", func() bool { return ok.Load() > okBefore+int64(len(c.procs)) })
	stopLoad()
	if t.Failed() {
		t.FailNow()
	}
	for _, n := range c.procs {
		n.call(t, "POST", "/tokens", appKey, cardData(pan)).expect(t, 201)
		n.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url).expect(t, 200)
	}

	forwarded := dest.holding(pan)
	audited := c.procs[1].eventCount(t, id, "detokenize")
	answered := int(ok.Load()) + 2*len(c.procs) // the load's 200s, and the checks' before and after
	t.Logf("detokenizations: %d answered 200, %d refused with 503, %d forwarded, %d audit records", answered, refused.Load(), forwarded, audited)
	if forwarded > audited {
		t.Fatalf("%d detokenized requests forwarded, %d audit records: some left without their record", forwarded, audited)
	}
	if answered != forwarded {
		t.Fatalf("%d answered 200, %d forwarded", answered, forwarded)
	}
}

// TestDatabaseHungNodesAnswerNotHang: PostgreSQL frozen (SIGSTOP: its connections stay open and
// nothing answers, as with a hung host or a partition). Every node says so on /readyz; a
// detokenization, a create and a reveal, sent together, are each answered 503 at once — not
// after a connection attempt, nor one after another — and nothing is forwarded; once
// PostgreSQL runs again the nodes serve.
func TestDatabaseHungNodesAnswerNotHang(t *testing.T) {
	t.Parallel() // after the other tests of the cluster, beside those without one (withoutPostgres)
	c := startNodes(t, 2)
	pg := storetest.PostgresServer()
	if pg == nil {
		t.Skip("needs the PostgreSQL pgtest starts (not SLUICE_TEST_DATABASE_URL) to freeze it")
	}
	dest := newDestination(t)
	const pan = "4242424242424242"
	id := c.procs[0].newToken(t, pan)
	for _, n := range c.procs {
		n.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url).expect(t, 200)
	}
	forwarded := dest.holding(pan)

	bringBack := takeDown(t, c, "frozen", pg.Pause, pg.Resume)
	var wg sync.WaitGroup
	for i, n := range c.procs {
		for _, r := range []struct {
			what, method, path string
			body               any
			hdr                []string
		}{
			{"detokenization", "POST", "/proxy", detokenizing(id), []string{"BT-PROXY-URL", dest.url}},
			{"create", "POST", "/tokens", cardData(pan), nil},
			{"reveal", "GET", "/tokens/" + id, nil, nil},
		} {
			wg.Go(func() {
				start := time.Now()
				a, err := n.try(r.method, r.path, adminKey, r.body, r.hdr...)
				took := time.Since(start).Round(time.Millisecond)
				if err != nil {
					t.Errorf("node %d, database frozen: %s: no answer after %v: %v", i+1, r.what, took, err)
					return
				}
				t.Logf("node %d, database frozen: %s answered %d after %v", i+1, r.what, a.status, took)
				if a.status != 503 || bytes.Contains(a.body, []byte(pan)) {
					t.Errorf("node %d, database frozen: %s: %d %.300s", i+1, r.what, a.status, a.body)
				}
				if took >= 2*time.Second { // startNodes' connect_timeout
					t.Errorf("node %d, database frozen: %s answered after %v: with /readyz at 503 a request waits for no connection attempt", i+1, r.what, took)
				}
			})
		}
	}
	wg.Wait()
	if dest.holding(pan) != forwarded {
		t.Error("a detokenization was forwarded while the database was frozen")
	}

	bringBack()
	for _, n := range c.procs {
		n.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url).expect(t, 200)
		n.call(t, "POST", "/tokens", adminKey, cardData(pan)).expect(t, 201)
	}
}
