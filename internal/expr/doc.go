// Package expr is Sluice's detokenization expression engine (SPEC §5
// "Detokenization expressions", §9). It finds `{{ … }}` expressions in
// request bodies, header values and query strings, validates them, reports
// what they reference, and renders them with values the caller supplies
// through Env, escaped for where they land. It never talks to the vault.
//
// # Flow
//
// The caller first runs Scan (allocation-free) to validate every expression
// and collect the distinct token ids, enforce limits, fetch the tokens in one
// vault read, check permissions and write audit records; then Render (or
// Stream / Reader for large bodies) with an Env over what it fetched.
//
//	r := expr.Acquire()
//	defer expr.Release(r)
//	n, err := r.Scan(body, expr.JSON, func(ref expr.Ref) error { … })
//	out, err := r.Render(dst[:0], body, expr.JSON, env)
//
// # Syntax
//
// Sources:
//
//	{{ <id> }}                  the token's data
//	{{ <id>.<a>.<b> }}          Footprint form: json on the data at a.b
//	{{ token: <id> }}           the whole token object {"id","type","data",…}
//	{{ config: <NAME> }}        a configuration value of the proxy (a string)
//	{{ encrypted }}             the decrypted BT-ENCRYPTED payload
//
// With SetMessageSources (a proxy's transform values), through MessageEnv:
//
//	{{ request }}, {{ req }}    the request body (a JSON document, or a JSON string)
//	{{ res }}, {{ response }}   the response body
//	{{ proxy }}                 {"request": {"headers", "body", "method", "path", "query"}}
//	{{ transform_identifier: 'name' }}
//	                            the token an earlier tokenize transform made
//
// and proxy.request.<path> as a filter argument where a string may be given
// (that member of {{ proxy }}). SetProxySource enables only proxy and its
// arguments (a pre-configured proxy's request headers). Without them these
// words are token ids.
//
// Token ids, path segments and configuration names are 1–400 bytes of
// A-Z a-z 0-9 _ - (see ValidID). `token:` and `config:` are keywords only
// when followed by a colon; `encrypted` is always the keyword. A dotted path
// may follow token: and encrypted sources too.
//
// After token: the id may be quoted, 'single' or "double", to name a custom
// id with other characters (Basis Theory allows any but # / \ + ? [ ] | & =
// % < > { } ^): {{ token: 'cust.42@acme' | json: '$.data' }}. A quoted id is
// 1 to MaxIDLen bytes of UTF-8 without those characters, control characters
// or its own quote character.
//
// Filters chain with `|`, left to right, at most MaxFilters. Arguments come
// in either vendor's form:
//
//	| name: arg1, arg2          Basis Theory / Liquid: 'single' or "double"
//	                            quoted strings (no escapes, as in Liquid),
//	                            numbers, true/false, and config.NAME or
//	                            proxy.config.NAME (a configuration value)
//	| name(arg1, arg2)          Footprint: quoted or unquoted; a backslash
//	                            escapes the next character (\( \) \, \' \"
//	                            \\); unquoted args are trimmed; numbers allowed
//
// An expression ends at the first "}}" (as in Liquid, quotes do not protect
// it), so an argument cannot contain "}}".
//
// In a JSON body, an expression inside a JSON string is read after JSON
// unescaping (so `"{{ t | json: \"$.a\" }}"` works); it must not cross the
// string's end. In Form and Query, the delimiters may be percent-encoded
// (%7B%7B … %7D%7D) and the text is percent-decoded ('+' is a space) before
// parsing. Ids must be written literally (not escaped) so that Ref.ID can
// be a view into the input.
//
// # Values and filters
//
// A value is a JSON-typed thing: string, number, boolean, null, object/array
// (kept as JSON text) or binary (hmac output). A JSON path that selects
// nothing gives null. Characters are Unicode code points. "Text" below means
// a string, or a number or boolean as written.
//
// Filters never fail because of a value (Liquid's leniency): what a filter
// cannot convert becomes null — text filters given an object or array,
// to_number on "abc", date_format on a value that does not match, and so
// on. A failure that depended on the value would answer the caller
// differently for different plaintexts, and a caller who may only use a
// token (or a proxy's configuration) could read it one guess at a time.
// Null passes through every filter unchanged, except default (→ its
// argument), append/prepend (null is "") and size (0).
//
//	json: '$.a.b[0]'            JSONPath on the value (BT: on the data, or on
//	                            the token object after token:). Supported:
//	                            $, .name, ['name'], ["name"], [n]; a path
//	                            without $ is relative to the root. Paths that
//	                            can select several values (.., *, [?()],
//	                            slices) are refused, as BT errors on them.
//	json_stringify, stringify   objects/arrays → their compact JSON text as a
//	                            string; strings stay strings (BT doc: a string
//	                            is not re-quoted); numbers/booleans → text.
//	last4                       last 4 characters (all if shorter).
//	prefix(n), suffix(n)        first / last n characters (Footprint).
//	pad_left: n, 'c'            pad on the left with c to n characters
//	pad_right: n, 'c'           (n ≤ 4096; both arguments required as in BT).
//	reveal: first, last, 'm', 'p'  mask all but the first `first` and last
//	                            `last` characters with m (default X), keeping
//	                            characters in p; if that masks nothing (value
//	                            too short, or all kept), mask everything —
//	                            BT's documented rule.
//	reveal_last: n, 'm'         mask all but the last n characters; a value
//	                            of n characters or fewer is returned as is (BT).
//	card_bin: 'sep'             first 6 digits when the number has < 16
//	                            digits, else 8; characters in sep are skipped;
//	                            anything else non-digit → null.
//	card_exp: 'MM/YY'           on a card object (or a token object with the
//	                            card in data): YYYY, YY and MM are replaced by
//	                            the expiration year/month, other characters
//	                            are copied; null without a valid date.
//	card_mask: bin, last4, 'm', 'p'  mask the card number with m (default X),
//	                            revealing the BIN (6/8 as card_bin, counted
//	                            without p characters) and/or the last 4;
//	                            characters in p are kept; if nothing would be
//	                            masked, everything is (BT).
//	to_boolean                  true/false in any case, numbers (0 = false),
//	                            booleans; else null.
//	to_number                   a string holding a JSON number is kept
//	                            digit-for-digit (no float rounding of card
//	                            numbers); other numeric forms (+1, 007, .5)
//	                            are normalised; else null.
//	to_string                   numbers/booleans → strings; objects → null.
//	hmac: 'alg', 'key'          HMAC over the text; alg sha-1, sha-256 (the
//	                            default when only the key is given) or
//	                            sha-512; the key may be config.NAME. Its
//	                            output is binary and must be followed by
//	                            to_base64 or to_base16 (checked by Scan).
//	hmac_sha256('<hex key>')    Footprint: HMAC-SHA-256 with a hex key (or a
//	                            config.NAME holding hex; null if it is not),
//	                            output lower-case hex.
//	to_base64                   standard base64 with padding.
//	to_base16                   upper-case hex (BT's documented output).
//	upcase, to_uppercase        Unicode upper case.
//	downcase, to_lowercase      Unicode lower case.
//	to_ascii                    transliterate to ASCII (see ascii.go); other
//	                            characters become '?'.
//	slice: offset, length       Liquid: characters; negative offset counts
//	                            from the end; length defaults to 1.
//	replace: 'a', 'b'           replace every a by b (b defaults to ""; a
//	                            literal a must not be empty; an empty
//	                            configured one finds nothing).
//	replace_first: 'a', 'b'     the same for the first a only.
//	remove: 'a'                 remove every a.
//	append: 's', prepend: 's'   concatenate.
//	default: v                  v when the value is null, "", false, [] or {}.
//	date_format('%Y-%m-%d', '%m/%d/%Y')  parse with the first strftime
//	                            format, print with the second (strftime.go);
//	                            null when the value does not parse.
//	encrypt('alg', '<hex DER>') Footprint: encrypt the text to a public key,
//	                            lower-case hex out. rsa_pkcs1v15 (SPKI or
//	                            PKCS #1 key, 1024–8192 bits; text over k−11
//	                            bytes → null) or ecies_p256_x963_sha256_aes_gcm
//	                            (SPKI P-256 key; Footprint's CBOR map
//	                            {v, epk, iv, c}; text over 1 MiB → null). The
//	                            key is parsed with the expression (encrypt.go).
//	                            Each encrypt counts as 1 MiB read against
//	                            Limits.MaxExpansion (64 per input by default).
//
// Liquid's standard filters, with Shopify's (Ruby) semantics (liquid.go,
// math.go). Arrays are JSON arrays, from a token's data or from split:
//
//	split: 'sep'                Ruby's String#split: '' gives characters, ' '
//	                            splits on runs of ASCII whitespace, trailing
//	                            empty pieces are dropped. Followed by first,
//	                            last, size or join it reads the pieces in
//	                            place; otherwise it builds a JSON array of
//	                            strings (text over 1 MiB → null).
//	first, last                 an array's first/last element; a text's
//	                            first/last character; null on objects.
//	size                        characters of a text, elements of an array,
//	                            keys of an object; 0 for null.
//	join: 'glue'                an array's elements joined (glue default ' '):
//	                            strings decoded, null empty, objects and
//	                            arrays as JSON; a text is itself.
//	strip, lstrip, rstrip       remove ASCII whitespace and NUL at the ends.
//	truncate: n, 'ellipsis'     a text of more than n characters (default 50)
//	                            is cut so that it and the ellipsis (default
//	                            "...") are n characters.
//	capitalize                  first character in title case, the rest lower.
//	url_encode, url_decode      form encoding (space ↔ '+'); a decoded text
//	                            that is not UTF-8 is null.
//	plus, minus, times,         arithmetic on numbers and numeric strings with
//	divided_by, modulo: n       a number argument: two integers give an
//	                            integer (divided_by floors, modulo takes the
//	                            divisor's sign); otherwise a float, exact in
//	                            decimals where it fits, printed as Ruby does
//	                            (6.0, 1.0e+20). Not a number, division by
//	                            zero or out of range → null.
//	abs, round: digits          round half away from zero; without digits an
//	                            integer.
//	date: '%Y-%m-%d'            format "now"/"today", a Unix time (UTC) or an
//	                            ISO 8601 / RFC 3339 / RFC 1123 date (shown in
//	                            its own zone) with strftime (strftime.go:
//	                            date_format's directives, and in output Ruby's
//	                            %s %u %w %k %l %P %L and the - flag); anything
//	                            else is kept as it is.
//
// Every configuration value an expression names is resolved before its
// filters run, so an unknown one is an error whatever the value.
//
// # Sizes
//
// Every size limit is decided from the expression and the sizes of the
// documents it reads, never from what the filters make of their contents
// (bound.go). Each filter has a worst-case output size given its input size
// and its arguments (to_base16 doubles, pad_left adds its width, replace
// multiplies by the ratio of its strings, slice and last4 cut down to a few
// characters, arithmetic is a few bytes, encrypt's ECIES is 4× its text).
// Scan refuses (ErrTooLarge) an expression whose chain could
// build a value over 16 MiB from the largest source (MaxSourceLen for token
// documents and the encrypted payload, MaxConfigLen for configuration
// values), so `pad_left: 4096, 'x'` followed by to_base16 twelve times never
// starts. Before a chain runs, its bound for the source's size class (the
// size rounded up, sizeClass: at least 256 bytes, so no card's length shows)
// is charged against Limits.MaxExpansion, as is that size once per document
// read (the source, json, card_exp).
//
// # Escaping
//
// Values are escaped for the Context the caller names:
//
//   - JSON: a state machine over the bytes tracks JSON strings (honouring
//     backslash escapes) and object key/value positions across chunks.
//     Inside a string the value is JSON-string-escaped (quote, backslash,
//     control characters, U+2028, U+2029; invalid UTF-8 → U+FFFD) so it can
//     never end its string. When an expression is the ENTIRE string in value
//     position ("card": "{{ t }}") Basis Theory's documented proxy behaviour
//     applies: an object or array replaces the quotes with its JSON, a
//     string stays a string, and a number or boolean stays a string ("11",
//     as BT's proxy examples show for json: '$.expiration_month') unless
//     it was produced by to_number or to_boolean, which then replaces the
//     quotes (that is what those casts are for). A null replaces the
//     quotes with null. In key position values are always strings. Outside
//     strings only valid JSON is inserted (strings quoted, objects validated).
//   - Form: form-encoded (unreserved characters kept, space → '+').
//   - Query: percent-encoded (space → %20).
//   - Header: a control character other than HTAB (CR, LF, NUL, VT, FF,
//     DEL, NEL, …) or invalid UTF-8 → ErrHeaderInjection. Scan refuses
//     literal filter arguments with a control character other than HTAB in
//     a header: they could only make that refusal depend on the value.
//     Otherwise as Body: JSON-string-escaped inside double quotes (a JSON
//     header value, an HTTP quoted-string, whose \" and \\ escapes are
//     JSON's), as is elsewhere.
//   - Body: JSON strings are lexed (quotes, backslash escapes) across chunks;
//     inside one the value is JSON-string-escaped, elsewhere inserted as is.
//     Expressions are opaque to the lexer. This is every body not labelled
//     JSON or form: the label cannot let a value out of a JSON string.
//   - Text: inserted as is. Objects/arrays are their JSON text, null is empty.
//
// # Memory, limits and plaintext
//
// Scan and Render do not allocate once a pooled Renderer is warm (guarded by
// the Alloc tests); Render appends to the caller's dst. Stream and Reader
// keep the JSON state across chunks and carry at most MaxExprLen bytes (plus
// a quote of lookahead) from one chunk to the next, so memory is flat for
// any body size; after a pass that stops inside an expression they wait for
// more input before rescanning, so a client trickling bytes cannot make them
// rescan the carry-over per byte. Limits (MaxExprs, MaxExpansion) bound the
// number of expressions, the bytes they may render to (their static bounds,
// before escaping, which adds at most 6× in JSON and 3× in Form and Query)
// and the bytes of token documents they read; the defaults suit
// request-sized bodies, streamed bodies with many expressions need larger
// ones.
//
// Plaintext token data lives in the Renderer's scratch buffers only while a
// call runs; Release zeroes them (and the decoded expression and argument
// buffers, which may hold hmac keys). A failed Render zeroes the partial
// output it wrote into dst's spare capacity.
//
// # Errors and secrets
//
// Errors are *Error values wrapping a sentinel (errors.Is). They name the
// expression as written, its offset and the id involved, never a resolved
// value, and whether one occurs depends only on the expressions, the ids
// (unknown tokens or configuration values), the sizes of the documents read
// and, in a header, a control character in the value itself; hmac arguments are redacted from the quoted expression since they
// may be keys, and for unterminated expressions only the first 32 bytes are
// quoted since the rest is body data.
package expr
