package egress_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/sluice-edge/sluice/server/internal/egress"
)

func ExampleClassify() {
	for _, s := range []string{"93.184.215.14", "10.1.2.3", "169.254.169.254", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2606:4700:4700::1111"} {
		fmt.Println(s, egress.Classify(netip.MustParseAddr(s)))
	}
	// Output:
	// 93.184.215.14 allowed
	// 10.1.2.3 private
	// 169.254.169.254 metadata
	// ::ffff:127.0.0.1 loopback
	// 64:ff9b::a9fe:a9fe metadata
	// 2606:4700:4700::1111 allowed
}

func ExamplePolicy_CheckURL() {
	var strict egress.Policy
	for _, raw := range []string{
		"https://API.Example.com:0443/v1/charges?x=1",
		"https://ｅｘａｍｐｌｅ．ｃｏｍ/",
		"https://2130706433/",
		"https://１２７．０．０．１/",
		"http://example.com/",
	} {
		u, err := strict.CheckURL(raw)
		if err != nil {
			fmt.Println(errors.Is(err, egress.ErrInvalidURL), err)
			continue
		}
		fmt.Println(u)
	}
	// Output:
	// https://api.example.com:443/v1/charges?x=1
	// https://example.com/
	// true egress: invalid destination url: host "2130706433" is not a dns name
	// true egress: invalid destination url: host "127.0.0.1" is an ip literal
	// true egress: invalid destination url: scheme must be https
}

// The Dialer plugs into fasthttp's client; it never consults HTTP(S)_PROXY.
func ExampleDialer() {
	// Strict policy, net.DefaultResolver, DefaultTimeout. In package server:
	//   client := &fasthttp.Client{DialTimeout: d.DialTimeout, TLSConfig: tlsCfg}
	d := &egress.Dialer{}
	_, err := d.Dial("127.0.0.1:443")
	var be *egress.BlockedError
	fmt.Println(errors.As(err, &be), be.Decision, err)
	// Output:
	// true loopback egress: blocked destination "127.0.0.1" (loopback)
}
