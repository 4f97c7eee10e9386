//! The command line of `picket agent`, and its checks: every mistake an operator can make
//! on the first start is named before anything is read or sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::Url;

use crate::batch::Format;
use crate::tail::Source;

/// Tail sensor files and ship them to a Picket server.
///
/// Follows each file through rotation (a new file at the path) and truncation, reads whole
/// lines only, and posts them in gzip batches to the server's ingest endpoints with the agent
/// token. Every batch is written to the spool directory before it is sent and removed once the
/// server has stored it, so while the server is unreachable batches wait there and are sent in
/// order when it is back; positions are saved in the spool directory too, so after a restart
/// or a crash of the agent or the server every line is stored exactly once.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// Base URL of the Picket server, e.g. https://picket.example.org:8080.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// File holding the agent token that `picket admin agent create` printed.
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// Suricata EVE JSON file to follow (repeatable).
    #[arg(long = "eve", value_name = "PATH")]
    pub eve: Vec<PathBuf>,
    /// Zeek log directory: every `*.log` JSON file in it is followed (repeatable).
    #[arg(long = "zeek-dir", value_name = "DIR")]
    pub zeek_dir: Vec<PathBuf>,
    /// Syslog file (RFC 3164 or RFC 5424 lines) to follow (repeatable).
    #[arg(long = "syslog", value_name = "PATH")]
    pub syslog: Vec<PathBuf>,
    /// Directory for the agent's own state: batches waiting to be sent and file positions.
    /// Must be writable, and used by this agent only.
    #[arg(long, value_name = "DIR")]
    pub spool: PathBuf,
    /// Most lines in one batch.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub batch_lines: usize,
    /// Most bytes (before compression) in one batch; keep it below the server's
    /// `body_limit_bytes`. A longer line is skipped with a warning.
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub batch_bytes: usize,
    /// Most megabytes of batches kept in the spool; when it is full, reading pauses (files
    /// keep their lines) until the server takes batches again.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    pub spool_max_mb: u64,
    /// How often files are looked at for new lines, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub poll_ms: u64,
    /// Seconds a rotated-away file may stay idle before it is closed (a writer may still be
    /// finishing it).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub idle_close_secs: u64,
    /// Seconds between progress lines in the log.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub progress_secs: u64,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Base URL, ending in `/`.
    pub server: Url,
    pub token_file: PathBuf,
    pub token: String,
    pub sources: Vec<Source>,
    pub spool: PathBuf,
    pub batch_lines: usize,
    pub batch_bytes: usize,
    pub spool_max_bytes: u64,
    pub poll: Duration,
    pub idle_close: Duration,
    pub progress: Duration,
}

impl AgentArgs {
    /// Checks the arguments and reads the token file.
    pub fn check(&self) -> anyhow::Result<AgentConfig> {
        let server = parse_server(&self.server)?;
        let token = read_token(&self.token_file)?;
        let mut sources = Vec::new();
        for p in &self.eve {
            sources.push(Source::file(Format::Eve, p));
        }
        for d in &self.zeek_dir {
            if d.exists() && !d.is_dir() {
                bail!("--zeek-dir {} is not a directory", d.display());
            }
            sources.push(Source::zeek_dir(d));
        }
        for p in &self.syslog {
            sources.push(Source::file(Format::Syslog, p));
        }
        if sources.is_empty() {
            bail!("nothing to ship: give at least one --eve PATH, --zeek-dir DIR or --syslog PATH");
        }
        for (i, s) in sources.iter().enumerate() {
            if sources[..i].iter().any(|o| o.path() == s.path()) {
                bail!("{} is given twice", s.path().display());
            }
            if matches!(s.spec, crate::tail::Spec::File(_)) && s.path().is_dir() {
                bail!("{} is a directory, not a file", s.path().display());
            }
        }
        if self.batch_lines == 0 {
            bail!("--batch-lines must be at least 1");
        }
        if self.batch_bytes < 1024 {
            bail!("--batch-bytes must be at least 1024");
        }
        if self.spool_max_mb == 0 {
            bail!("--spool-max-mb must be at least 1");
        }
        Ok(AgentConfig {
            server,
            token_file: self.token_file.clone(),
            token,
            sources,
            spool: self.spool.clone(),
            batch_lines: self.batch_lines,
            batch_bytes: self.batch_bytes,
            spool_max_bytes: self.spool_max_mb * 1024 * 1024,
            poll: Duration::from_millis(self.poll_ms.max(10)),
            idle_close: Duration::from_secs(self.idle_close_secs),
            progress: Duration::from_secs(self.progress_secs.max(1)),
        })
    }
}

fn parse_server(s: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(s).with_context(|| {
        format!("--server `{s}` is not a URL (expected e.g. http://picket.example.org:8080)")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("--server `{s}` must be an http:// or https:// URL with a host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("--server `{s}` must be the server's base URL, without a query or fragment");
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Reads the agent token: one word, the whole file.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read token file {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!(
            "token file {} is empty; put in it the token `picket admin agent create` printed",
            path.display()
        );
    }
    if token.split_whitespace().count() > 1 {
        bail!(
            "token file {} holds more than one word; it must hold only the agent token",
            path.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    file = %path.display(),
                    "the token file is readable by other users; `chmod 600` it"
                );
            }
        }
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path) -> AgentArgs {
        let token = dir.join("token");
        std::fs::write(&token, "pka_secret\n").unwrap();
        AgentArgs {
            server: "http://127.0.0.1:8080".into(),
            token_file: token,
            eve: vec![dir.join("eve.json")],
            zeek_dir: vec![],
            syslog: vec![],
            spool: dir.join("spool"),
            batch_lines: 5000,
            batch_bytes: 1 << 22,
            spool_max_mb: 1024,
            poll_ms: 250,
            idle_close_secs: 30,
            progress_secs: 10,
        }
    }

    fn err(a: &AgentArgs) -> String {
        format!("{:#}", a.check().unwrap_err())
    }

    #[test]
    fn good_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let c = args(dir.path()).check().unwrap();
        assert_eq!(c.server.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.token, "pka_secret");
        assert_eq!(c.sources.len(), 1);
        let mut a = args(dir.path());
        a.server = "https://example.org/picket".into();
        assert_eq!(
            a.check().unwrap().server.as_str(),
            "https://example.org/picket/"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.server = "localhost:8080".into();
        assert!(err(&a).contains("http:// or https://"), "{}", err(&a));
        a.server = "not a url".into();
        assert!(err(&a).contains("is not a URL"), "{}", err(&a));
        a.server = "ftp://host/".into();
        assert!(err(&a).contains("http:// or https://"));

        let mut a = args(dir.path());
        a.token_file = dir.path().join("missing");
        let e = err(&a);
        assert!(
            e.contains("cannot read token file") && e.contains("missing"),
            "{e}"
        );
        std::fs::write(dir.path().join("empty"), "  \n").unwrap();
        a.token_file = dir.path().join("empty");
        assert!(err(&a).contains("is empty"));

        let mut a = args(dir.path());
        a.eve.clear();
        assert!(err(&a).contains("nothing to ship"));
        a.eve = vec![dir.path().join("x"), dir.path().join("x")];
        assert!(err(&a).contains("given twice"));
        a.eve = vec![dir.path().to_path_buf()];
        assert!(err(&a).contains("is a directory"));
    }
}
