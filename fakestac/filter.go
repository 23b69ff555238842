package fakestac

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file applies the two property filters of STAC item search, as a server
// that advertises their conformance classes does:
//
//   - the Filter extension (filter, filter-lang): CQL2 in its JSON or text
//     encoding. Supported: and, or, not; =, <>, <, <=, >, >=; like, in,
//     between, isNull; s_intersects with a bbox or a GeoJSON geometry (by its
//     envelope); property references; numbers, strings, booleans,
//     {"timestamp": ...} and {"date": ...} literals (TIMESTAMP('...') and
//     DATE('...') in text). Anything else is a 400, as on a real server.
//   - the Query extension (query): {"prop": {"op": value}} with eq, neq, lt,
//     lte, gt, gte, startsWith, endsWith, contains and in.
//
// Properties are the item's rendered properties plus id and collection.

// itemFilter is the parsed property filter of a search (nil fields: none).
type itemFilter struct {
	cql   any                       // CQL2 JSON tree
	query map[string]map[string]any // Query extension
}

// parseItemFilter reads filter (JSON, or a text string), filter-lang and query.
// For GET, filter and query come as strings (query as JSON text).
func parseItemFilter(filter json.RawMessage, lang string, query json.RawMessage) (*itemFilter, error) {
	var f itemFilter
	if len(filter) > 0 && string(filter) != "null" {
		var text string
		isText := json.Unmarshal(filter, &text) == nil
		switch {
		case lang == "" && isText, lang == "cql2-text":
			if !isText {
				return nil, fmt.Errorf("filter-lang cql2-text needs a string filter")
			}
			tree, err := parseCQL2Text(text)
			if err != nil {
				return nil, fmt.Errorf("invalid cql2-text filter: %v", err)
			}
			f.cql = tree
		case lang == "" || lang == "cql2-json":
			if isText { // GET: the JSON arrives as a string parameter
				filter = json.RawMessage(text)
			}
			if err := json.Unmarshal(filter, &f.cql); err != nil {
				return nil, fmt.Errorf("invalid cql2-json filter: %v", err)
			}
		default:
			return nil, fmt.Errorf("unsupported filter-lang %q", lang)
		}
		if _, err := evalCQL(f.cql, map[string]any{}); err != nil { // structure and operators
			return nil, err
		}
	}
	if len(query) > 0 && string(query) != "null" {
		var text string
		if json.Unmarshal(query, &text) == nil {
			query = json.RawMessage(text)
		}
		if err := json.Unmarshal(query, &f.query); err != nil {
			return nil, fmt.Errorf("invalid query: %v", err)
		}
		for prop, ops := range f.query {
			for op := range ops {
				if !slices.Contains([]string{"eq", "neq", "lt", "lte", "gt", "gte", "startsWith", "endsWith", "contains", "in"}, op) {
					return nil, fmt.Errorf("invalid query: unsupported operator %q on %q", op, prop)
				}
			}
		}
	}
	if f.cql == nil && f.query == nil {
		return nil, nil
	}
	return &f, nil
}

// match reports whether the item with properties props passes the filter.
func (f *itemFilter) match(props map[string]any) bool {
	if f == nil {
		return true
	}
	if f.cql != nil {
		ok, err := evalCQL(f.cql, props)
		if err != nil || ok != true {
			return false
		}
	}
	for prop, ops := range f.query {
		v, ok := props[prop]
		if !ok {
			return false
		}
		for op, want := range ops {
			if !queryOp(op, v, want) {
				return false
			}
		}
	}
	return true
}

func queryOp(op string, v, want any) bool {
	switch op {
	case "eq":
		return equal(v, want)
	case "neq":
		return !equal(v, want)
	case "lt", "lte", "gt", "gte":
		c, ok := compare(v, want)
		return ok && map[string]bool{"lt": c < 0, "lte": c <= 0, "gt": c > 0, "gte": c >= 0}[op]
	case "startsWith", "endsWith", "contains":
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		return ok1 && ok2 && map[string]func(string, string) bool{
			"startsWith": strings.HasPrefix, "endsWith": strings.HasSuffix, "contains": strings.Contains}[op](s, w)
	case "in":
		list, _ := want.([]any)
		return slices.ContainsFunc(list, func(x any) bool { return equal(v, x) })
	}
	return false
}

// evalCQL evaluates a CQL2 JSON node: a boolean for predicates, a value for
// operands. A missing property is nil, and a comparison with nil is false.
func evalCQL(node any, props map[string]any) (any, error) {
	switch n := node.(type) {
	case nil, bool, float64, string:
		return n, nil
	case []any:
		out := make([]any, len(n))
		for i, x := range n {
			v, err := evalCQL(x, props)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case map[string]any:
		if p, ok := n["property"].(string); ok {
			return props[p], nil
		}
		if ts, ok := n["timestamp"].(string); ok {
			return parseStamp(ts)
		}
		if d, ok := n["date"].(string); ok {
			return parseStamp(d)
		}
		if b, ok := n["bbox"].([]any); ok {
			return envelopeOf(b)
		}
		if _, ok := n["type"].(string); ok {
			return envelopeOf(n["coordinates"])
		}
		op, ok := n["op"].(string)
		if !ok {
			return nil, fmt.Errorf("cql2: node without op, property or literal: %v", n)
		}
		args, _ := n["args"].([]any)
		vals, err := evalCQL(args, props)
		if err != nil {
			return nil, err
		}
		return evalOp(strings.ToLower(op), vals.([]any))
	}
	return nil, fmt.Errorf("cql2: unsupported node %v", node)
}

// evalOp applies op to its evaluated arguments.
func evalOp(op string, vals []any) (any, error) {
	need := func(n int) error {
		if len(vals) != n {
			return fmt.Errorf("cql2: %s takes %d arguments, got %d", op, n, len(vals))
		}
		return nil
	}
	switch op {
	case "and", "or":
		if len(vals) < 2 {
			return nil, fmt.Errorf("cql2: %s takes 2 or more arguments", op)
		}
		res := op == "and"
		for _, v := range vals {
			b, _ := v.(bool)
			if op == "and" {
				res = res && b
			} else {
				res = res || b
			}
		}
		return res, nil
	case "not":
		if err := need(1); err != nil {
			return nil, err
		}
		b, _ := vals[0].(bool)
		return !b, nil
	case "=", "<>":
		if err := need(2); err != nil {
			return nil, err
		}
		if vals[0] == nil || vals[1] == nil {
			return false, nil
		}
		return equal(vals[0], vals[1]) == (op == "="), nil
	case "<", "<=", ">", ">=":
		if err := need(2); err != nil {
			return nil, err
		}
		c, ok := compare(vals[0], vals[1])
		if !ok {
			return false, nil
		}
		return map[string]bool{"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op], nil
	case "between":
		if err := need(3); err != nil {
			return nil, err
		}
		lo, ok1 := compare(vals[0], vals[1])
		hi, ok2 := compare(vals[0], vals[2])
		return ok1 && ok2 && lo >= 0 && hi <= 0, nil
	case "in":
		if err := need(2); err != nil {
			return nil, err
		}
		list, ok := vals[1].([]any)
		if !ok {
			return nil, fmt.Errorf("cql2: in needs a list")
		}
		return vals[0] != nil && slices.ContainsFunc(list, func(x any) bool { return equal(vals[0], x) }), nil
	case "like":
		if err := need(2); err != nil {
			return nil, err
		}
		s, ok1 := vals[0].(string)
		p, ok2 := vals[1].(string)
		if !ok2 {
			return nil, fmt.Errorf("cql2: like needs a string pattern")
		}
		return ok1 && likeRegexp(p).MatchString(s), nil
	case "isnull":
		if err := need(1); err != nil {
			return nil, err
		}
		return vals[0] == nil, nil
	case "s_intersects":
		if err := need(2); err != nil {
			return nil, err
		}
		a, ok1 := vals[0].(envelope)
		b, ok2 := vals[1].(envelope)
		return ok1 && ok2 && a.intersects(b), nil
	}
	return nil, fmt.Errorf("cql2: unsupported operator %q", op)
}

// equal compares numbers by value, times by instant, anything else exactly.
func equal(a, b any) bool {
	if c, ok := compare(a, b); ok {
		return c == 0
	}
	return a == b
}

// compare orders two numbers, two strings or two instants (a string that is
// an RFC 3339 instant compares as one with a time).
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return cmpFloat(x, y), true
		}
	case time.Time:
		if y, ok := asTime(b); ok {
			return x.Compare(y), true
		}
	case string:
		if y, ok := b.(time.Time); ok {
			if t, ok := asTime(x); ok {
				return t.Compare(y), true
			}
		}
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	}
	return 0, false
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		p, err := parseStamp(t)
		return p, err == nil
	}
	return time.Time{}, false
}

func parseStamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("cql2: invalid timestamp or date %q", s)
	}
	return t, nil
}

// likeRegexp turns a CQL2 like pattern (% any run, _ one character) into a
// regular expression.
func likeRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^(?s)")
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// envelope is a 2D bounding box.
type envelope struct{ w, s, e, n float64 }

func (a envelope) intersects(b envelope) bool {
	return a.w <= b.e && b.w <= a.e && a.s <= b.n && b.s <= a.n
}

// envelopeOf returns the envelope of a bbox ([]any of 4 or 6 numbers) or of
// GeoJSON coordinates nested to any depth.
func envelopeOf(v any) (any, error) {
	if b, ok := v.([]any); ok && (len(b) == 4 || len(b) == 6) {
		if _, num := b[0].(float64); num {
			f := make([]float64, len(b))
			for i, x := range b {
				f[i], _ = x.(float64)
			}
			w, s, e, n, _ := bbox2D(f)
			return envelope{w, s, e, n}, nil
		}
	}
	env := envelope{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	var walk func(any) bool
	walk = func(v any) bool {
		list, ok := v.([]any)
		if !ok {
			return false
		}
		if len(list) >= 2 {
			x, okx := list[0].(float64)
			y, oky := list[1].(float64)
			if okx && oky {
				env.w, env.e = min(env.w, x), max(env.e, x)
				env.s, env.n = min(env.s, y), max(env.n, y)
				return true
			}
		}
		found := false
		for _, c := range list {
			found = walk(c) || found
		}
		return found
	}
	if !walk(v) {
		return nil, fmt.Errorf("cql2: invalid geometry")
	}
	return env, nil
}

// itemProps returns the properties a filter sees: the rendered properties,
// id, collection and the item's geometry (as its envelope).
func itemProps(it *Item, rendered map[string]any) map[string]any {
	props := make(map[string]any, len(rendered)+3)
	for k, v := range rendered {
		if f, ok := toFloat(v); ok {
			v = f
		}
		props[k] = v
	}
	props["id"], props["collection"] = it.ID, it.Collection
	if w, s, e, n, ok := bbox2D(it.Bbox); ok {
		props["geometry"] = envelope{w, s, e, n}
	}
	return props
}

// toFloat turns Go numbers (as items are built in code) into float64 (as
// JSON decodes them).
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// parseCQL2Text parses the text encoding of CQL2 (the subset above, without
// spatial functions) into the JSON tree.
func parseCQL2Text(s string) (any, error) {
	toks, err := lexCQL2(s)
	if err != nil {
		return nil, err
	}
	p := &cqlParser{toks: toks}
	tree, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return tree, nil
}

type cqlToken struct {
	kind byte // 'i' identifier or keyword, 'n' number, 's' string, 'o' operator or punctuation
	text string
}

func lexCQL2(s string) ([]cqlToken, error) {
	var toks []cqlToken
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						b.WriteRune('\'')
						j++
						continue
					}
					break
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, cqlToken{'s', b.String()})
			i = j + 1
		case unicode.IsDigit(r) || (r == '-' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])):
			j := i + 1
			for j < len(rs) && (unicode.IsDigit(rs[j]) || strings.ContainsRune(".eE+-", rs[j])) {
				j++
			}
			toks = append(toks, cqlToken{'n', string(rs[i:j])})
			i = j
		case unicode.IsLetter(r) || r == '_' || r == '"':
			quoted := r == '"'
			j := i + 1
			for j < len(rs) && (quoted && rs[j] != '"' || !quoted && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || strings.ContainsRune("_:.", rs[j]))) {
				j++
			}
			text := string(rs[i:j])
			if quoted {
				if j >= len(rs) {
					return nil, fmt.Errorf("unterminated quoted name")
				}
				text, j = string(rs[i+1:j]), j+1
				toks = append(toks, cqlToken{'q', text})
			} else {
				toks = append(toks, cqlToken{'i', text})
			}
			i = j
		default:
			for _, op := range []string{"<>", "<=", ">=", "=", "<", ">", "(", ")", ","} {
				if strings.HasPrefix(string(rs[i:min(i+2, len(rs))]), op) {
					toks = append(toks, cqlToken{'o', op})
					i += len([]rune(op))
					goto next
				}
			}
			return nil, fmt.Errorf("unexpected character %q", r)
		next:
		}
	}
	return toks, nil
}

type cqlParser struct {
	toks []cqlToken
	pos  int
}

func (p *cqlParser) peekKeyword(kw string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'i' && strings.EqualFold(p.toks[p.pos].text, kw)
}

func (p *cqlParser) keyword(kw string) bool {
	if p.peekKeyword(kw) {
		p.pos++
		return true
	}
	return false
}

func (p *cqlParser) punct(op string) bool {
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 'o' && p.toks[p.pos].text == op {
		p.pos++
		return true
	}
	return false
}

func (p *cqlParser) or() (any, error) { return p.chain("or", p.and) }

func (p *cqlParser) and() (any, error) { return p.chain("and", p.not) }

func (p *cqlParser) chain(kw string, next func() (any, error)) (any, error) {
	first, err := next()
	if err != nil {
		return nil, err
	}
	args := []any{first}
	for p.keyword(kw) {
		n, err := next()
		if err != nil {
			return nil, err
		}
		args = append(args, n)
	}
	if len(args) == 1 {
		return first, nil
	}
	return map[string]any{"op": kw, "args": args}, nil
}

func (p *cqlParser) not() (any, error) {
	if p.keyword("not") {
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return map[string]any{"op": "not", "args": []any{x}}, nil
	}
	return p.predicate()
}

func (p *cqlParser) predicate() (any, error) {
	if p.punct("(") {
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, fmt.Errorf("missing )")
		}
		return x, nil
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	wrapNot := func(x any, neg bool) any {
		if neg {
			return map[string]any{"op": "not", "args": []any{x}}
		}
		return x
	}
	for _, op := range []string{"<>", "<=", ">=", "=", "<", ">"} {
		if p.punct(op) {
			right, err := p.operand()
			if err != nil {
				return nil, err
			}
			return map[string]any{"op": op, "args": []any{left, right}}, nil
		}
	}
	if p.keyword("is") {
		neg := p.keyword("not")
		if !p.keyword("null") {
			return nil, fmt.Errorf("IS needs NULL")
		}
		return wrapNot(map[string]any{"op": "isNull", "args": []any{left}}, neg), nil
	}
	neg := p.keyword("not")
	switch {
	case p.keyword("like"):
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return wrapNot(map[string]any{"op": "like", "args": []any{left, right}}, neg), nil
	case p.keyword("between"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.keyword("and") {
			return nil, fmt.Errorf("BETWEEN needs AND")
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return wrapNot(map[string]any{"op": "between", "args": []any{left, lo, hi}}, neg), nil
	case p.keyword("in"):
		if !p.punct("(") {
			return nil, fmt.Errorf("IN needs a list")
		}
		var list []any
		for {
			v, err := p.operand()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if p.punct(")") {
				break
			}
			if !p.punct(",") {
				return nil, fmt.Errorf("IN list needs , or )")
			}
		}
		return wrapNot(map[string]any{"op": "in", "args": []any{left, list}}, neg), nil
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q after an operand", p.toks[p.pos].text)
	}
	return nil, fmt.Errorf("incomplete predicate")
}

func (p *cqlParser) operand() (any, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("missing operand")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case 'n':
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", t.text)
		}
		return f, nil
	case 's':
		return t.text, nil
	case 'q':
		return map[string]any{"property": t.text}, nil
	case 'i':
		switch strings.ToLower(t.text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "timestamp", "date":
			if !p.punct("(") || p.pos >= len(p.toks) || p.toks[p.pos].kind != 's' {
				return nil, fmt.Errorf("%s needs ('...')", t.text)
			}
			s := p.toks[p.pos].text
			p.pos++
			if !p.punct(")") {
				return nil, fmt.Errorf("missing ) after %s", t.text)
			}
			return map[string]any{strings.ToLower(t.text): s}, nil
		}
		return map[string]any{"property": t.text}, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}
