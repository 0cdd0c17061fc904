package server

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// oracleProbe is one request of the error-oracle attack: where the expression goes and how.
type oracleProbe struct {
	name string
	// expr builds the expression over src (a token's card number or a configuration value)
	// guessing that its first character is guess.
	expr func(src string, guess byte) string
	// in puts the expression in the body, a header or the query.
	in string
}

var oracleProbes = []oracleProbe{
	{"to_number", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', 'x' | to_number }}"
	}, "body"},
	{"to_boolean in the query", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', 'true' | to_boolean }}"
	}, "query"},
	{"date_format", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', '2024' | date_format('%Y', '%m') }}"
	}, "body"},
	{"card_bin", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', '41111111' | card_bin }}"
	}, "body"},
	{"default naming an unknown config", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', '' | default: config.NOPE }}"
	}, "body"},
	{"value size cap", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', '" + strings.Repeat("x", 2049) + "'" +
			strings.Repeat(" | to_base16", 13) + " }}"
	}, "body"},
	{"header size cap", func(s string, g byte) string {
		return "{{ " + s + " | slice: 0, 1 | replace: '" + string(g) + "', '" + strings.Repeat("x", 1100) + "' | to_base16 | to_base16 | to_base16 }}"
	}, "header"},
}

// probeAnswer is what the caller of one probe sees, and whether the destination was reached.
type probeAnswer struct {
	status    int
	body      string
	forwarded bool
}

// TestNoPlaintextErrorOracle runs the error-oracle attack as written — guessing the first character
// of a PAN or of a proxy configuration secret by whether an expression fails (to_number,
// to_boolean, date_format, card_bin, a config argument used only for some values) or trips a size
// cap — through real sockets, with a proxy:invoke key (ephemeral proxy) and anonymously through a
// require_auth:false proxy. Every guess about every value gets the same answer: status, body and
// whether anything reached the destination.
func TestNoPlaintextErrorOracle(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest, func(c *Config) { c.RateLimits.AnonymousRequests = 1 << 20 })
	pans := []string{"4111111111111111", "5555555555554444"}
	var toks []string
	for _, p := range pans {
		toks = append(toks, e.token(e.adminKey, cardBody(p)))
	}
	invoker, _ := e.newApp("private", "proxy:invoke")
	secrets := []string{"4secret", "7secret"}
	var proxyKeys []string
	for i, s := range secrets {
		px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "open" + strconv.Itoa(i), "destination_url": dest.url + "/status/200",
			"require_auth": false, "configuration": map[string]string{"S": s}}).expect(t, 201).json(t)
		proxyKeys = append(proxyKeys, px["key"].(string))
	}

	// ask sends one probe; the token id named in an answer is replaced by ID (ids are not secret).
	ask := func(p oracleProbe, id, expression string, hdr ...string) probeAnswer {
		before := len(dest.requests())
		path, body := "/proxy", `{"n":"x"}`
		switch p.in {
		case "body":
			body = `{"n":"` + expression + `"}`
		case "query":
			path += "?q=" + url.QueryEscape(expression)
		case "header":
			hdr = append(hdr, "X-Probe", expression)
		}
		r := e.do("POST", path, "", body, hdr...)
		b := string(r.body)
		if id != "" {
			b = strings.ReplaceAll(b, id, "ID")
		}
		return probeAnswer{r.status, b, len(dest.requests()) > before}
	}
	for _, p := range oracleProbes {
		t.Run(p.name, func(t *testing.T) {
			// For each guess, every value must get the same answer: then the answers say
			// nothing about the values, whatever the attacker guesses.
			var failed [3]bool
			for g := byte('0'); g <= '9'; g++ {
				var ans [3][2]probeAnswer
				for i, tok := range toks {
					ans[0][i] = ask(p, tok, p.expr(tok+".number", g), "BT-API-KEY", invoker, "BT-PROXY-URL", dest.url+"/status/200")
					ans[1][i] = ask(p, tok, p.expr(tok+".number", g), "BT-PROXY-KEY", proxyKeys[0])
				}
				for i, k := range proxyKeys {
					ans[2][i] = ask(p, "", p.expr("config: S", g), "BT-PROXY-KEY", k)
				}
				for w, who := range []string{"proxy:invoke key, PANs", "anonymous, PANs", "anonymous, configuration secrets"} {
					if ans[w][0] != ans[w][1] && !failed[w] {
						failed[w] = true
						t.Errorf("%s, guess %c: the answer depends on the plaintext:\n  %+v\n  %+v", who, g, ans[w][0], ans[w][1])
					}
				}
			}
		})
	}
}
