#![forbid(unsafe_code)]
//! `picket agent`: tails sensor files (following rotation and truncation), ships them in gzip
//! batches with an `Idempotency-Key` to `/api/agent/v1/…`, retries with backoff, spools to
//! disk while the server is unreachable, and remembers its positions so that every line is
//! stored exactly once across restarts and crashes of either side.
//!
//! How exactly-once holds: the reader turns whole lines of a file into a batch whose key names
//! the file and the byte range it covers, writes the batch durably into the spool, and only
//! then moves its position (the checkpoint names the last spooled batch it covers; at start the
//! spool's batch headers move any position the checkpoint missed). The sender posts spooled
//! batches in order and deletes one only after the server acknowledged it and the checkpoint
//! covers it. A batch is therefore either still in the spool (and sent again with the same key,
//! which the server recognises) or acknowledged and behind the saved position.
//!
//! Read in order:
//!
//! 1. [`args`]: the command line and its checks (token file, server URL, spool directory).
//! 2. [`batch`]: a batch's header, key, gzip body, and how a refused batch splits in two.
//! 3. [`tail`]: following files by inode through rotation and truncation, whole lines only.
//! 4. [`checkpoint`]: positions saved atomically (write, fsync, rename, fsync the directory).
//! 5. [`spool`]: batches on disk in order, the lock, the bounds, recovery after a crash.
//! 6. [`ship`]: posting batches, backoff with jitter, 413 splits, what each answer means.
//! 7. [`run`]: the reader thread, the sender task and the progress log wired together.

pub mod args;
pub mod batch;
pub mod checkpoint;
mod fsx;
pub mod run;
pub mod ship;
pub mod spool;
pub mod stats;
pub mod tail;

pub use args::{AgentArgs, AgentConfig};
pub use batch::Format;
pub use run::run;
