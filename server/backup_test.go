package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// TestRejectBackupWithoutTheMasterKeyCredential: the admin listener's backup answers only a
// request carrying the credential derived from the vault's master key; with it, the stream is a
// whole backup that the master key opens and that holds no token's plaintext.
func TestRejectBackupWithoutTheMasterKeyCredential(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	e.token(e.adminKey, map[string]any{"type": "token", "data": "plaintext-in-the-vault"})
	master := bytes.Repeat([]byte{0x42}, 32)
	backup := func(auth string) (int, []byte) {
		req, _ := http.NewRequest("POST", e.admin+"/backup", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	for name, auth := range map[string]string{
		"none":                 "",
		"the admin key":        "Bearer " + testAdminKey,
		"another master key's": "Bearer " + store.BackupAuth(bytes.Repeat([]byte{0x43}, 32)),
		"without Bearer":       store.BackupAuth(master),
	} {
		t.Run(name, func(t *testing.T) {
			if st, b := backup(auth); st != http.StatusUnauthorized || len(b) > 512 {
				t.Fatalf("%d, %d bytes", st, len(b))
			}
		})
	}
	st, b := backup("Bearer " + store.BackupAuth(master))
	if st != 200 || bytes.Contains(b, []byte("plaintext-in-the-vault")) {
		t.Fatalf("backup: %d (or it holds plaintext)", st)
	}
	if _, err := store.VerifyBackup(bytes.NewReader(b), master); err != nil {
		t.Fatalf("the streamed backup: %v", err)
	}
}

// TestEdgeStopsDuringASlowBackup: a backup whose client stops reading does not hold the edge's
// shutdown: the stream is cut (never a whole backup) and the vault closes.
func TestEdgeStopsDuringASlowBackup(t *testing.T) {
	t.Parallel()
	e := startEdge(t, func(c *Config) {
		c.Timeouts.Shutdown = 200 * time.Millisecond
		// The 4 KB values go to the value log: each batch (800 KB) is then a few KB of the
		// test-scale memtable, and the 20 MB are written once, not again by memtable flushes.
		c.Storage.ValueThresholdBytes = 1 << 10
	})
	for b := 0; b < 25; b++ { // 20 MB: more than the loopback socket buffers hold
		var reqs []store.TokenCreate
		for i := 0; i < 200; i++ {
			reqs = append(reqs, store.TokenCreate{Token: &store.Token{ID: fmt.Sprintf("t-%d-%d", b, i), Type: "token",
				Data: []byte(`"` + strings.Repeat("x", 4000) + `"`), CreatedAt: time.Now()}, Event: store.Event{Actor: "t"}})
		}
		if _, err := e.srv.raw.CreateTokens(context.Background(), reqs); err != nil {
			t.Fatal(err)
		}
	}
	master := bytes.Repeat([]byte{0x42}, 32)
	req, _ := http.NewRequest("POST", e.admin+"/backup", nil)
	req.Header.Set("Authorization", "Bearer "+store.BackupAuth(master))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	head := make([]byte, 100)
	io.ReadFull(res.Body, head) // then stop reading: the handler blocks writing
	stopped := make(chan struct{})
	go func() { e.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("the edge did not stop while a backup client stalled")
	}
	if _, err := store.VerifyBackup(io.MultiReader(bytes.NewReader(head), res.Body), master); err == nil {
		t.Fatal("a cut backup stream verified as whole")
	}
}
