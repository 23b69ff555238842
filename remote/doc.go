// Package remote is everything of stacfs that talks to servers: the STAC API client
// (landing page, collections, item search with the paging dialects seen in the wild),
// ranged reads of asset objects, authentication with per-origin credential scope, and
// typed errors.
//
// A search or a read goes Catalog (stac.go, paging.go) or Client.ReadAt (object.go) ->
// retry.go (the policy: what is retried, backoff, budget) -> transport.go (the stall
// watchdog and the per-origin limiter) -> auth.go (redirects, tokens) -> the server.
// Client (client.go) holds the settings and their Default* values. Objects (objects.go)
// chooses an asset's href and routes it: http(s) to the Client (through a provider's
// Signer, signed.go), s3:// to S3 (s3.go: requests presigned by the AWS SDK, then the
// same Client path), gs:// to anonymous https.
//
// Every failed answer is a *StatusError matching ErrNotFound, ErrDenied or ErrChanged
// under errors.Is; unusable answers wrap ErrBadResponse. No error or log line of this
// package holds a query string or a secret (RedactURL). What users see of retries,
// deadlines, consistency and credential scope is in docs/semantics.md.
package remote
