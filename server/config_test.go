package server

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var key64 = base64.StdEncoding.EncodeToString(make([]byte, 32))

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("listen: \":1111\"\ndata_dir: /from/file\nlimits:\n  proxy_tokens: 7\ntimeouts:\n  destination: 3s\n"), 0o600)
	env := map[string]string{"SLUICE_MASTER_KEY": key64, "SLUICE_CONFIG": file, "SLUICE_LISTEN": ":2222"}
	cfg, err := ParseConfig([]string{"--listen", ":3333"}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":3333" {
		t.Fatalf("flag did not win: %s", cfg.Listen)
	}
	if cfg.DataDir != "/from/file" || cfg.Limits.ProxyTokens != 7 || cfg.Timeouts.Destination != 3*time.Second {
		t.Fatalf("file values lost: %+v", cfg)
	}
	if cfg.Limits.EphemeralTokens != 100 {
		t.Fatal("defaults lost under a partial file")
	}
	cfg, _ = ParseConfig(nil, envOf(env), nil)
	if cfg.Listen != ":2222" {
		t.Fatalf("env did not beat file: %s", cfg.Listen)
	}
}

func TestConfigUnknownKeyFails(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("listen: \":1\"\nlimitz:\n  x: 1\n"), 0o600)
	_, err := ParseConfig([]string{"--config", file}, envOf(map[string]string{"SLUICE_MASTER_KEY": key64}), nil)
	if err == nil || !strings.Contains(err.Error(), "limitz") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestSampleConfigParses(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]string{"--config", "../examples/sluice.yaml"}, envOf(map[string]string{"SLUICE_MASTER_KEY": key64}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := Defaults(); cfg.Limits != d.Limits || cfg.Timeouts != d.Timeouts || cfg.RateLimits != d.RateLimits || cfg.Transforms != d.Transforms || cfg.Listen != d.Listen {
		t.Fatalf("sample differs from defaults: %+v", cfg)
	}
}

func TestMasterKeySources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kf := filepath.Join(dir, "k")
	os.WriteFile(kf, []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n"), 0o600)
	cfg, err := ParseConfig([]string{"--master-key-file", kf}, envOf(map[string]string{"SLUICE_MASTER_KEY": key64}), nil)
	if err != nil || string(cfg.MasterKey) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("flag file should beat env: %v", err)
	}
	if _, err := ParseConfig(nil, envOf(map[string]string{"SLUICE_MASTER_KEY": "c2hvcnQ="}), nil); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := ParseConfig(nil, envOf(nil), nil); err == nil || !strings.Contains(err.Error(), "master key is required") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := ParseConfig([]string{"--bogus"}, envOf(nil), nil); err == nil {
		t.Fatal("unknown flag accepted")
	}
	cfg, err = ParseConfig([]string{"--dev", "--data-dir", dir}, envOf(nil), nil)
	if err != nil || len(cfg.MasterKey) != 32 {
		t.Fatalf("dev key: %v", err)
	}
	again, _ := ParseConfig([]string{"--data-dir", dir}, envOf(map[string]string{"SLUICE_DEV": "1"}), nil)
	if string(again.MasterKey) != string(cfg.MasterKey) {
		t.Fatal("dev master key not reused")
	}
}
