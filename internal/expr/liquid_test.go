package expr

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liquidCase renders expr over a token x whose data is doc.
type liquidCase struct {
	name, doc, expr, want string
}

func runLiquidCases(t *testing.T, tests []liquidCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &testEnv{data: bmap(map[string]string{"x": tc.doc})}
			out, err := render(t, tc.expr, Text, env)
			if err != nil {
				t.Fatalf("%s over %s: %v", tc.expr, tc.doc, err)
			}
			if out != tc.want {
				t.Fatalf("%s over %s: got %q, want %q", tc.expr, tc.doc, out, tc.want)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestLiquidArrayFilters: split, first, last, size and join as Shopify's
// Liquid (Ruby) documents and runs them.
func TestLiquidArrayFilters(t *testing.T) {
	beatles := jsonString("John, Paul, George, Ringo")
	tom := jsonString("Ground control to Major Tom.")
	list := `["a","b",1,true,null,{"k":1},["n"]]`
	runLiquidCases(t, []liquidCase{
		{"split makes an array", beatles, "{{ x | split: ', ' }}", `["John","Paul","George","Ringo"]`},
		{"split first", tom, "{{ x | split: ' ' | first }}", "Ground"},
		{"split last", tom, "{{ x | split: ' ' | last }}", "Tom."},
		{"split size", tom, "{{ x | split: ' ' | size }}", "5"},
		{"split join", beatles, "{{ x | split: ', ' | join: ' and ' }}", "John and Paul and George and Ringo"},
		{"split join default glue", beatles, "{{ x | split: ', ' | join }}", "John Paul George Ringo"},
		{"split expiry last", jsonString("12/2028"), "{{ x | split: '/' | last }}", "2028"},
		{"split expiry first", jsonString("12/2028"), "{{ x | split: '/' | first }}", "12"},
		{"split footprint form", jsonString("12/2028"), "{{ x | split('/') | last }}", "2028"},
		{"split on empty gives characters", jsonString("héllo"), "{{ x | split: '' }}", `["h","é","l","l","o"]`},
		{"split characters size", jsonString("héllo"), "{{ x | split: '' | size }}", "5"},
		{"split characters last", jsonString("héllo"), "{{ x | split: '' | last }}", "o"},
		{"split drops trailing empties", jsonString("a,b,,"), "{{ x | split: ',' }}", `["a","b"]`},
		{"split keeps leading empties", jsonString(",a"), "{{ x | split: ',' }}", `["","a"]`},
		{"split keeps inner empties", jsonString("a,,b"), "{{ x | split: ',' | size }}", "3"},
		{"split of separators only", jsonString(",,,"), "{{ x | split: ',' }}", `[]`},
		{"split of separators only first", jsonString(",,,"), "{{ x | split: ',' | first }}", ""},
		{"split of empty", jsonString(""), "{{ x | split: ',' | size }}", "0"},
		{"split without separator", jsonString("abc"), "{{ x | split: ',' }}", `["abc"]`},
		{"split on a space is awk-like", jsonString("  a \t b\n "), "{{ x | split: ' ' }}", `["a","b"]`},
		{"split overlapping separator", jsonString("baaa"), "{{ x | split: 'aa' }}", `["b","a"]`},
		{"split overlapping separator last", jsonString("aaa"), "{{ x | split: 'aa' | last }}", "a"},
		{"split pieces escaped", jsonString("a\"\x01,b"), "{{ x | split: ',' }}", `["a\"\u0001","b"]`},
		{"split then json", jsonString("a/b/c"), "{{ x | split: '/' | json: '$[1]' }}", "b"},
		{"split of a number", `4242`, "{{ x | split: '2' | first }}", "4"},
		{"first of array", list, "{{ x | first }}", "a"},
		{"last of array", list, "{{ x | last }}", `["n"]`},
		{"first of empty array", `[]`, "{{ x | first }}", ""},
		{"first of object", `{"a":1}`, "{{ x | first }}", ""},
		{"first of string", jsonString("Jöhn"), "{{ x | first }}", "J"},
		{"last of string", jsonString("Jöhn"), "{{ x | last }}", "n"},
		{"last of empty string", jsonString(""), "{{ x | last }}", ""},
		{"size of string", tom, "{{ x | size }}", "28"},
		{"size counts characters", jsonString("héllo"), "{{ x | size }}", "5"},
		{"size of array", list, "{{ x | size }}", "7"},
		{"size of object", `{"a":1,"b":[2]}`, "{{ x | size }}", "2"},
		{"size of null", `null`, "{{ x | size }}", "0"},
		{"size of number", `4242`, "{{ x | size }}", "4"},
		{"join array", list, "{{ x | join: ', ' }}", `a, b, 1, true, , {"k":1}, ["n"]`},
		{"join string", jsonString("abc"), "{{ x | join: ', ' }}", "abc"},
		{"join object", `{"a":1}`, "{{ x | join: ', ' }}", ""},
	})
}

// TestLiquidStringFilters: the string filters on Liquid's documented examples.
func TestLiquidStringFilters(t *testing.T) {
	room := jsonString("          So much room for activities          ")
	tom := jsonString("Ground control to Major Tom.")
	pills := jsonString("Take my protein pills and put my helmet on")
	runLiquidCases(t, []liquidCase{
		{"strip", room, "{{ x | strip }}", "So much room for activities"},
		{"lstrip", room, "{{ x | lstrip }}", "So much room for activities          "},
		{"rstrip", room, "{{ x | rstrip }}", "          So much room for activities"},
		{"strip controls", jsonString("\x00\t\n\v\f\r a \r\n"), "{{ x | strip }}", "a"},
		{"strip keeps no-break space", jsonString("\u00a0a"), "{{ x | strip }}", "\u00a0a"},
		{"truncate", tom, "{{ x | truncate: 20 }}", "Ground control to..."},
		{"truncate custom ellipsis", tom, "{{ x | truncate: 25, ', and so on' }}", "Ground control, and so on"},
		{"truncate no ellipsis", tom, "{{ x | truncate: 20, '' }}", "Ground control to Ma"},
		{"truncate short", tom, "{{ x | truncate: 28 }}", "Ground control to Major Tom."},
		{"truncate default length", jsonString(strings.Repeat("a", 51)), "{{ x | truncate }}", strings.Repeat("a", 47) + "..."},
		{"truncate shorter than ellipsis", tom, "{{ x | truncate: 2 }}", "..."},
		{"truncate characters", jsonString("ééééé"), "{{ x | truncate: 4, '…' }}", "ééé…"},
		{"capitalize", jsonString("title"), "{{ x | capitalize }}", "Title"},
		{"capitalize lowers the rest", jsonString("my GREAT title"), "{{ x | capitalize }}", "My great title"},
		{"capitalize unicode", jsonString("élan"), "{{ x | capitalize }}", "Élan"},
		{"replace_first", pills, "{{ x | replace_first: 'my', 'your' }}", "Take your protein pills and put my helmet on"},
		{"replace_first removes", pills, "{{ x | replace_first: 'my ' }}", "Take protein pills and put my helmet on"},
		{"replace_first missing", pills, "{{ x | replace_first: 'zz', 'y' }}", "Take my protein pills and put my helmet on"},
		{"replace without replacement", pills, "{{ x | replace: 'my ' }}", "Take protein pills and put helmet on"},
		{"url_encode", jsonString("john@liquid.com"), "{{ x | url_encode }}", "john%40liquid.com"},
		{"url_encode space", jsonString("Tetsuro Takara"), "{{ x | url_encode }}", "Tetsuro+Takara"},
		{"url_encode unreserved", jsonString("a-_.~/é"), "{{ x | url_encode }}", "a-_.~%2F%C3%A9"},
		{"url_decode", jsonString("%27Stop%21%27+said+Fred"), "{{ x | url_decode }}", "'Stop!' said Fred"},
		{"url_decode malformed kept", jsonString("100%+%zz"), "{{ x | url_decode }}", "100% %zz"},
		{"default on empty array", `[]`, "{{ x | default: 'none' }}", "none"},
		{"default on empty object", `{ }`, "{{ x | default: 'none' }}", "none"},
		{"default keeps array", `[1]`, "{{ x | default: 'none' }}", "[1]"},
	})
}

// TestLiquidMathFilters: integers stay integers, floats are exact decimals
// printed as Ruby prints them, as in Liquid's documentation.
func TestLiquidMathFilters(t *testing.T) {
	runLiquidCases(t, []liquidCase{
		{"plus", `4`, "{{ x | plus: 2 }}", "6"},
		{"plus float", `183.357`, "{{ x | plus: 12 }}", "195.357"},
		{"plus string number", `"16"`, "{{ x | plus: 4 }}", "20"},
		{"plus quoted operand", `16`, "{{ x | plus: '4' }}", "20"},
		{"plus exact decimals", `0.1`, "{{ x | plus: 0.2 }}", "0.3"},
		{"minus", `4`, "{{ x | minus: 2 }}", "2"},
		{"minus float", `183.357`, "{{ x | minus: 12 }}", "171.357"},
		{"times", `24`, "{{ x | times: 7 }}", "168"},
		{"times float", `183.357`, "{{ x | times: 12 }}", "2200.284"},
		{"times float operand stays float", `3`, "{{ x | times: 2.0 }}", "6.0"},
		{"divided_by", `16`, "{{ x | divided_by: 4 }}", "4"},
		{"divided_by integer floors", `5`, "{{ x | divided_by: 3 }}", "1"},
		{"divided_by negative floors", `-7`, "{{ x | divided_by: 2 }}", "-4"},
		{"divided_by float", `20`, "{{ x | divided_by: 7.0 }}", "2.857142857142857"},
		{"modulo", `24`, "{{ x | modulo: 7 }}", "3"},
		{"modulo float", `183.357`, "{{ x | modulo: 12 }}", "3.357"},
		{"modulo takes the divisor's sign", `-7`, "{{ x | modulo: 3 }}", "2"},
		{"modulo negative divisor", `7`, "{{ x | modulo: -3 }}", "-2"},
		{"abs", `-17`, "{{ x | abs }}", "17"},
		{"abs string float", `"-19.86"`, "{{ x | abs }}", "19.86"},
		{"round down", `1.2`, "{{ x | round }}", "1"},
		{"round up", `2.7`, "{{ x | round }}", "3"},
		{"round half away from zero", `-2.5`, "{{ x | round }}", "-3"},
		{"round digits", `183.357`, "{{ x | round: 2 }}", "183.36"},
		{"round digits exact decimal", `2.675`, "{{ x | round: 2 }}", "2.68"},
		{"round integer", `15`, "{{ x | round: 2 }}", "15"},
		{"round negative digits", `15`, "{{ x | round: -1 }}", "20"},
		{"round float negative digits", `183.357`, "{{ x | round: -1 }}", "180.0"},
		{"large float prints exponent", `10000000000`, "{{ x | times: 10000000000.0 }}", "1.0e+20"},
		{"small float prints exponent", `1`, "{{ x | divided_by: 100000.0 }}", "1.0e-05"},
		{"integer overflow becomes float", `9223372036854775807`, "{{ x | plus: 1 }}", "9.223372036854776e+18"},
		{"exponent input is a float", `1e2`, "{{ x | plus: 1 }}", "101.0"},
		{"chained", `10`, "{{ x | minus: 4 | times: 3 | divided_by: 2 }}", "9"},
	})
}

// TestLiquidDate: date formats Unix times and ISO dates with strftime, and
// leaves what is not a date as it is (as Liquid does).
func TestLiquidDate(t *testing.T) {
	runLiquidCases(t, []liquidCase{
		{"iso date", jsonString("2024-02-29"), "{{ x | date: '%a, %b %d, %y' }}", "Thu, Feb 29, 24"},
		{"rfc3339", jsonString("2024-03-05T14:07:09Z"), "{{ x | date: '%m/%d/%Y %H:%M' }}", "03/05/2024 14:07"},
		{"rfc3339 with fraction and zone", jsonString("2024-03-05T14:07:09.123+02:00"), "{{ x | date: '%F %T' }}", "2024-03-05 14:07:09"},
		{"date and time", jsonString("2024-03-05 14:07:09"), "{{ x | date: '%B %e, %Y %I:%M %p' }}", "March  5, 2024 02:07 PM"},
		{"unix number", `1700000000`, "{{ x | date: '%Y-%m-%d %H:%M:%S' }}", "2023-11-14 22:13:20"},
		{"unix string", jsonString("1700000000"), "{{ x | date: '%j' }}", "318"},
		{"rfc1123", jsonString("Tue, 05 Mar 2024 14:07:09 GMT"), "{{ x | date: '%D' }}", "03/05/24"},
		{"rfc1123 numeric zone", jsonString("Tue, 05 Mar 2024 14:07:09 -0700"), "{{ x | date: '%H:%M' }}", "14:07"},
		{"numeric zone after a space", jsonString("2024-03-05 14:07:09 +0100"), "{{ x | date: '%T' }}", "14:07:09"},
		{"fraction and negative zone", jsonString("2024-03-05T14:07:09.5-07:00"), "{{ x | date: '%F %T' }}", "2024-03-05 14:07:09"},
		{"ruby directives", jsonString("2024-03-05 14:07:09"), "{{ x | date: '%-d/%-m/%y %s %u %w %k %l %P %L %-j %-l' }}", "5/3/24 1709647629 2 2 14  2 pm 000 65 2"},
		{"ruby directives morning", jsonString("2024-03-10 09:05:01"), "{{ x | date: '%-H:%-M:%-S %u %w %k %-I' }}", "9:5:1 7 0  9 9"},
		{"date_format prints ruby directives", jsonString("2024-02-29"), "{{ x | date_format('%Y-%m-%d', '%-m/%-d %s') }}", "2/29 1709164800"},
		{"month name", jsonString("March 5, 2024"), "{{ x | date: '%F' }}", "2024-03-05"},
		{"not a date is kept", jsonString("not a date"), "{{ x | date: '%Y' }}", "not a date"},
		{"invalid day is kept", jsonString("2023-02-29"), "{{ x | date: '%Y' }}", "2023-02-29"},
		{"float is kept", `1.5`, "{{ x | date: '%Y' }}", "1.5"},
		{"year out of range is kept", `999999999999`, "{{ x | date: '%Y' }}", "999999999999"},
		{"empty format keeps the value", jsonString("2024-02-29"), "{{ x | date: '' }}", "2024-02-29"},
	})
	out, err := render(t, "{{ x | date: '%Y' }}", Text, &testEnv{data: bmap(map[string]string{"x": jsonString("now")})})
	if y, _ := strconv.Atoi(out); err != nil || y < time.Now().UTC().Year()-1 || y > time.Now().UTC().Year()+1 {
		t.Fatalf("now: %q, %v", out, err)
	}
}

// TestLiquidFiltersLenient: values these filters cannot use become null,
// never an error.
func TestLiquidFiltersLenient(t *testing.T) {
	tests := []struct{ name, doc, expr string }{
		{"plus on text", jsonString("abc"), "{{ x | plus: 1 }}"},
		{"plus on object", `{"a":1}`, "{{ x | plus: 1 }}"},
		{"plus on boolean", `true`, "{{ x | plus: 1 }}"},
		{"plus on null", `null`, "{{ x | plus: 1 }}"},
		{"plus on infinity", jsonString("1e999"), "{{ x | plus: 1 }}"},
		{"divided_by zero", `5`, "{{ x | divided_by: 0 }}"},
		{"divided_by float zero", `5.5`, "{{ x | divided_by: 0.0 }}"},
		{"modulo zero", `5`, "{{ x | modulo: 0 }}"},
		{"times out of range", `1e308`, "{{ x | times: 10 }}"},
		{"abs on text", jsonString("x"), "{{ x | abs }}"},
		{"round on text", jsonString("x"), "{{ x | round: 2 }}"},
		{"split on object", `{"a":1}`, "{{ x | split: ',' }}"},
		{"split on null", `null`, "{{ x | split: ',' | first }}"},
		{"first of empty split", jsonString(""), "{{ x | split: ',' | first }}"},
		{"strip on array", `[1]`, "{{ x | strip }}"},
		{"url_decode to invalid UTF-8", jsonString("%ff"), "{{ x | url_decode }}"},
		{"capitalize on object", `{"a":1}`, "{{ x | capitalize }}"},
		{"date on object", `{"a":1}`, "{{ x | date: '%Y' }}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &testEnv{data: bmap(map[string]string{"x": tc.doc})}
			out, err := render(t, tc.expr, Text, env)
			if err != nil || out != "" {
				t.Fatalf("text %s: got %q, %v; want empty", tc.expr, out, err)
			}
			out, err = render(t, `{"a":`+tc.expr+`}`, JSON, env)
			if err != nil || out != `{"a":null}` {
				t.Fatalf("json %s: got %q, %v; want null", tc.expr, out, err)
			}
		})
	}
}

// TestLiquidArgumentErrors: bad arguments are refused when the expression is
// parsed, whatever the value.
func TestLiquidArgumentErrors(t *testing.T) {
	for _, src := range []string{
		"{{ x | plus: 'four' }}", "{{ x | plus: config.N }}", "{{ x | plus: true }}", "{{ x | plus }}",
		"{{ x | times: 1, 2 }}", "{{ x | round: 'a' }}", "{{ x | round: 1.5 }}", "{{ x | split }}",
		"{{ x | split: config.SEP }}", "{{ x | join: 1, 2 }}", "{{ x | truncate: 'a' }}", "{{ x | date }}",
		"{{ x | date: '%Q' }}", "{{ x | date: '%-B' }}", "{{ x | date_format('%s', '%Y') }}", "{{ x | date_format('%-d', '%Y') }}",
		"{{ x | replace_first: '', 'a' }}", "{{ x | first: 1 }}", "{{ x | size: 1 }}",
	} {
		if _, err := Scan([]byte(src), Text, nil); !errors.Is(err, ErrArgs) && !errors.Is(err, ErrSyntax) {
			t.Fatalf("%s: got %v, want an argument error", src, err)
		}
	}
}

// TestLiquidOracleProbesAnswerAlike: probes that turn one digit of a PAN into
// something each new filter cannot use end the same way for both values.
func TestLiquidOracleProbesAnswerAlike(t *testing.T) {
	probes := []string{
		"{{ pan | slice: 0, 1 | replace: '4', 'x' | plus: 1 }}",
		"{{ pan | slice: 0, 1 | replace: '4', '0' | divided_by: 0 }}",
		"{{ pan | slice: 0, 1 | replace: '4', '9223372036854775807' | times: 2 }}",
		"{{ pan | slice: 0, 1 | replace: '4', '%ff' | url_decode }}",
		"{{ pan | slice: 0, 1 | replace: '4', '2024-01-01' | date: '%Y' }}",
		"{{ pan | slice: 0, 1 | replace: '4', ',,,' | split: ',' | first | round }}",
		"{{ pan | slice: 0, 1 | replace: '4', '" + strings.Repeat("x", 300) + "' | encrypt('rsa_pkcs1v15', '" + testRSAHex + "') }}",
	}
	values := []string{`"4242424242424242"`, `"5242424242424242"`}
	for _, p := range probes {
		var answers [2]string
		for i, v := range values {
			_, err := render(t, p, Text, &testEnv{data: bmap(map[string]string{"pan": v})})
			answers[i] = "ok"
			if err != nil {
				answers[i] = err.Error()
			}
		}
		if answers[0] != answers[1] {
			t.Fatalf("%s: the answer depends on the value:\n  %s\n  %s", p, answers[0], answers[1])
		}
	}
}
