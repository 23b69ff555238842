package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// checkTimeout bounds each network step of stacfs check.
const checkTimeout = 30 * time.Second

// errChecksFailed makes stacfs check exit 1 after its report (which says it all).
var errChecksFailed = errors.New("some checks failed")

// stacClasses are the STAC API conformance classes check reports, in order.
var stacClasses = []string{"core", "collections", "item-search", "filter", "query", "sort", "fields"}

// checkReport prints one line per check and counts them.
type checkReport struct {
	w          io.Writer
	ok, failed int
}

// pass reports a check that passed: "ok   <subject>: <details>".
func (r *checkReport) pass(subject, format string, a ...any) {
	r.ok++
	fmt.Fprintf(r.w, "ok   %s: %s\n", subject, oneLine(fmt.Sprintf(format, a...)))
}

// fail reports a check that failed: "FAIL <subject>: <what>: <err>" (<what> once when
// err starts with it), or "FAIL <err>"
// when subject is empty (config errors name the file themselves).
func (r *checkReport) fail(subject, what string, err error) {
	r.failed++
	if subject == "" {
		fmt.Fprintf(r.w, "FAIL %s\n", oneLine(err.Error()))
		return
	}
	msg := oneLine(err.Error())
	if !strings.HasPrefix(msg, what+": ") { // remote's errors often name the step already
		msg = what + ": " + msg
	}
	fmt.Fprintf(r.w, "FAIL %s: %s\n", subject, msg)
}

// warn reports what mount logs as a warning, in the same words: "WARN <msg>: k=v ...".
func (r *checkReport) warn(w looseFile) {
	var b strings.Builder
	for i := 0; i+1 < len(w.args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", w.args[i], w.args[i+1])
	}
	fmt.Fprintf(r.w, "WARN %s:%s\n", w.msg, b.String())
}

// retrying reports a start-up step that failed and is tried again, as
// mount logs it.
func (r *checkReport) retrying(subject string) func(step string, attempt int, err error, wait time.Duration) {
	return func(step string, attempt int, err error, wait time.Duration) {
		// err names the step already.
		fmt.Fprintf(r.w, "...  %s: %s (try %d; trying again in %s)\n", subject, oneLine(err.Error()), attempt, wait.Round(time.Millisecond))
	}
}

func (r *checkReport) summary() {
	s := "s"
	if r.ok == 1 {
		s = ""
	}
	fmt.Fprintf(r.w, "%d check%s ok, %d failed\n", r.ok, s, r.failed)
}

// oneLine collapses whitespace so that every check stays on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("check", "stacfs check [--config FILE] [--catalog NAME | --url URL | --preset NAME]", stdout, stderr)
	cfgPath := configPathFlag(fl.FlagSet)
	var choice catalogChoice
	choice.register(fl.FlagSet, "check only catalog `NAME`")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError(fl, "check takes no arguments")
	}
	path, explicit := cfgPath()
	cfg, only, err := choice.load(path, explicit)
	if errors.Is(err, errUsage) {
		return err
	}
	r := &checkReport{w: stdout}
	defer r.summary()
	if err != nil {
		r.fail("", "", err) // "config FILE: ..." or "config: open FILE: ..."
		return errChecksFailed
	}
	names := cfg.CatalogNames()
	if only != "" {
		names = []string{only}
	}
	switch {
	case choice.adHoc():
		r.ok++
		fmt.Fprintf(stdout, "ok   catalog %s from the command line (%s)\n", only, choice.flagText())
	case !slices.ContainsFunc(names, func(n string) bool { return cfg.Catalogs[n].err != nil }):
		r.ok++
		fmt.Fprintf(stdout, "ok   config %s (%d catalog%s)\n", path, len(cfg.Catalogs), plural(len(cfg.Catalogs)))
	}
	checkShared(ctx, cfg, r)
	var ccs []*CatalogConfig
	for _, name := range names {
		ccs = append(ccs, cfg.Catalogs[name])
	}
	// Every problem in one run: each catalog is checked, whatever the others gave.
	for _, cc := range ccs {
		if cc.err != nil {
			r.fail("", "", cc.err)
		}
	}
	for _, w := range loosePermissions(ccs) {
		r.warn(w)
	}
	for _, cc := range ccs {
		if cc.err == nil {
			checkCatalog(ctx, cfg, cc, r)
		}
	}
	if r.failed > 0 {
		return errChecksFailed
	}
	return nil
}

// checkCatalog runs the checks of one catalog. It stops at a failure that the
// next steps need (sign-in, landing page, collections); the others (views, a
// missing configured collection) are reported and the checks go on.
func checkCatalog(ctx context.Context, cfg *Config, cc *CatalogConfig, r *checkReport) {
	name := cc.name
	// Quiet: the report says what went wrong; retry and token logs would only add noise.
	quiet := slog.New(slog.DiscardHandler)
	qcc := *cc
	qcc.auth.cfg.Logger = quiet
	client, err := newClient(cfg, &qcc, quiet)
	if err != nil {
		r.fail(name, "client", err)
		return
	}
	// The start-up steps of mount, with the same policy and messages, but
	// a short total time.
	p := startPolicy{total: checkStartTimeout, retrying: r.retrying(name)}
	if err := signIn(ctx, client, p); err != nil {
		r.fail(name, "token", err)
		return
	}
	if client.Auth != nil {
		r.pass(name, "token (%s)", client.Auth.Tokens.Type())
	}
	l, err := fetchLanding(ctx, cc, client, p)
	if err != nil {
		r.fail(name, "landing page", err)
		return
	}
	id := l.ID
	if id == "" {
		id = "(none)"
	}
	r.pass(name, "landing page (id %s, %d conformance class%s%s, search %s)", id,
		len(l.ConformsTo), pluralES(len(l.ConformsTo)), classList(l.ConformsTo), searchMethods(l))
	for _, err := range viewsConform(cc, l) {
		r.fail(name, "views", err)
	}

	cat := &remote.Catalog{Client: client, URL: cc.URL}
	var cols []remote.Collection
	err = step(ctx, func(ctx context.Context) (err error) {
		cols, err = cat.Collections(ctx)
		return err
	})
	if err != nil {
		r.fail(name, "list collections", err)
		return
	}
	conf := configuredCollections(cc)
	if len(cols) == 0 && len(conf) == 0 {
		r.fail(name, "list collections", errors.New("the catalog lists no collections"))
		return
	}
	ids := make([]string, 0, 3)
	for _, c := range cols[:min(3, len(cols))] {
		ids = append(ids, c.ID)
	}
	list := ""
	if len(ids) > 0 {
		list = ": " + strings.Join(ids, ", ")
	}
	if len(cols) > len(ids) {
		list += ", ..."
	}
	r.pass(name, "collections (%d%s)", len(cols), list)

	// The collection a mount would show first.
	var coll string
	if len(conf) > 0 {
		if coll = checkConfiguredCollections(ctx, cat, name, conf, cols, r); coll == "" {
			return // none exists: nothing to search
		}
	} else {
		coll = cols[0].ID
	}
	var page *remote.Page
	err = step(ctx, func(ctx context.Context) error {
		return cat.Search(ctx, remote.Search{Collections: []string{coll}, Limit: 1}, func(p *remote.Page) bool {
			page = p
			return false
		})
	})
	switch {
	case err != nil:
		r.fail(name, "item search in "+coll, err)
	case page == nil || len(page.Items) == 0:
		r.pass(name, "item search in %s (limit 1): empty", coll)
	default:
		matched := ""
		if page.NumberMatched >= 0 {
			matched = fmt.Sprintf(", %d matched", page.NumberMatched)
		}
		r.pass(name, "item search in %s (limit 1): ok, item %s%s", coll, page.Items[0].ID, matched)
		checkAssetRead(ctx, &qcc, client, &page.Items[0], r)
	}
}

// step runs one network step bounded by checkTimeout.
func step(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return f(ctx)
}

// tokenErr drops the "token URL:" prefix of a token server's refusal, so the line reads
// "token: 401 invalid_client: ... (URL)". Its fields are already scrubbed of secrets.
// The refusal stays in the chain (start-up reads its status).
func tokenErr(err error) error {
	var te *remote.TokenError
	if !errors.As(err, &te) {
		return err
	}
	msg := strings.TrimPrefix(te.Error(), "token "+te.URL+": ")
	return &refusal{msg: fmt.Sprintf("%s (%s)", msg, te.URL), err: err}
}

// refusal is an error shown as msg that wraps err.
type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.err }

// classList returns ": core collections ..." for the STAC API classes found, or "".
func classList(conformsTo []string) string {
	found := map[string]bool{}
	for _, c := range conformsTo {
		if k := stacClass(c); k != "" {
			found[k] = true
		}
	}
	var out []string
	for _, k := range stacClasses {
		if found[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return ": " + strings.Join(out, " ")
}

// stacClass names a STAC API conformance URI ("https://api.stacspec.org/v1.0.0/core",
// ".../item-search#filter"), or returns "" for any other class.
func stacClass(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host != "api.stacspec.org" {
		return ""
	}
	seg := u.Path[strings.LastIndex(u.Path, "/")+1:]
	switch {
	case u.Fragment == "" && (seg == "core" || seg == "collections" || seg == "item-search"):
		return seg
	case seg == "item-search" && (u.Fragment == "filter" || u.Fragment == "query" || u.Fragment == "sort" || u.Fragment == "fields"):
		return u.Fragment
	}
	return ""
}

// searchMethods is "GET", "POST", "GET+POST", or a note that no rel=search link exists.
func searchMethods(l *remote.Landing) string {
	switch {
	case l.SearchGET && l.SearchPOST:
		return "GET+POST"
	case l.SearchGET:
		return "GET"
	case l.SearchPOST:
		return "POST"
	}
	return "not advertised, GET assumed"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}
