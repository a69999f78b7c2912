//! The admin API's bearer token: made on first run, printed once, kept only
//! as a hash (mode 0600) beside the CA.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::config::{Token, TokenHash};

const FILE: &str = "admin-token.sha256";

/// The hash of the admin token, and the token itself when it was just made
/// (to be shown once).
pub fn load_or_create(dir: &Path) -> std::io::Result<(TokenHash, Option<Token>)> {
    let path = dir.join(FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let hash = TokenHash::parse(text.trim())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
        return Ok((hash, None));
    }
    std::fs::create_dir_all(dir)?;
    let token = Token::generate();
    let hash = TokenHash::of(token.reveal().as_bytes());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    writeln!(file, "{hash}")?;
    Ok((hash, Some(token)))
}
