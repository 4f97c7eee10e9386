#![forbid(unsafe_code)]
//! `picket agent`: tails sensor files (following rotation and truncation), ships them in gzip
//! batches with an `Idempotency-Key` to `/api/agent/v1/…`, retries with backoff, spools to
//! disk while the server is unreachable, and remembers its positions so that every line is
//! stored exactly once across restarts and crashes of either side.
