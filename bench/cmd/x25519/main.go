// Command x25519 performs n X25519 key agreements the way a BT-ENCRYPTED request does (parse
// the sender's public key, multiply), all inside one function, agree, so that the instruction
// gate can count them alone: valgrind --tool=callgrind --toggle-collect=main.agree x25519 -n 20.
package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"runtime"
)

func main() {
	n := flag.Int("n", 20, "key agreements")
	flag.Parse()
	// callgrind's --toggle-collect follows a call stack on one thread: a goroutine preempted
	// inside agree must resume on the same thread, or the rest of its work goes uncounted.
	runtime.LockOSThread()
	curve := ecdh.X25519()
	priv, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		fail(err)
	}
	peers := make([][]byte, *n)
	for i := range peers {
		k, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			fail(err)
		}
		peers[i] = k.PublicKey().Bytes()
	}
	if err := agree(priv, peers); err != nil {
		fail(err)
	}
}

// agree is the measured function: one public key parse and one ECDH per peer.
//
//go:noinline
func agree(priv *ecdh.PrivateKey, peers [][]byte) error {
	for _, p := range peers {
		pub, err := ecdh.X25519().NewPublicKey(p)
		if err != nil {
			return err
		}
		if _, err := priv.ECDH(pub); err != nil {
			return err
		}
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "x25519:", err)
	os.Exit(1)
}
