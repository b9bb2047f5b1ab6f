//! The write token: given on the command line or in the environment, or made at the first
//! start and kept in the data directory so that restarts keep it (and the scripts that use it
//! keep working), or none at all when writes are open on purpose.

use std::io::Write as _;
use std::path::Path;

/// The file in the data directory that keeps a made token.
pub const FILE: &str = "write_token";

/// Which token writes need.
pub enum Token {
    /// `--write-token`, `TRACKIO_WRITE_TOKEN` or `HF_TOKEN`: the operator knows it.
    Given(String),
    /// Made by this server and kept in the data directory.
    Kept(String),
    /// `--open-writes`: none.
    Open,
}

impl Token {
    /// The token a write must carry, if any.
    pub fn expected(&self) -> Option<&str> {
        match self {
            Token::Given(t) | Token::Kept(t) => Some(t),
            Token::Open => None,
        }
    }
}

/// The token kept in `dir` (created when missing), or a new random one written there,
/// readable by its owner only. Fails naming the file.
pub fn kept_or_new(dir: &Path) -> Result<String, String> {
    let path = dir.join(FILE);
    let cannot = |e: std::io::Error| {
        format!(
            "the write token file {} cannot be used: {e}",
            path.display()
        )
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(cannot(e)),
    }
    std::fs::create_dir_all(dir).map_err(cannot)?;
    // 244 random bits from the OS's generator, as 64 hex digits.
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(cannot)?;
    writeln!(file, "{token}").map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    Ok(token)
}
