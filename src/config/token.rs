//! Where the access token comes from, and the policy on token files: read
//! here rather than by the command line so that every command applies the
//! same rules. The token is never logged or put in an error.

use std::path::{Path, PathBuf};

use crate::api::Token;

use super::Pipeline;

/// Why no token could be had; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read token_file {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("token_file {path} is empty")]
    Empty { path: PathBuf },
    #[error(
        "{env} is not set: export {env}=<an access token from the organization's admin dashboard>"
    )]
    EnvUnset { env: String },
}

impl Pipeline {
    /// The token, from `token_file` when the pipeline names one, else from
    /// the environment variable `token_env`.
    pub fn token(&self) -> Result<Token, TokenError> {
        read_token(self.token_file.as_deref(), &self.token_env)
    }
}

/// The token from `file` when given, else from the environment variable
/// `env`. A file others can read is used, with a warning.
pub fn read_token(file: Option<&Path>, env: &str) -> Result<Token, TokenError> {
    let Some(path) = file else {
        return std::env::var(env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(Token::new)
            .ok_or_else(|| TokenError::EnvUnset {
                env: env.to_owned(),
            });
    };
    let text = std::fs::read_to_string(path).map_err(|error| TokenError::Unreadable {
        path: path.to_owned(),
        error,
    })?;
    warn_if_shared(path);
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Token::new(token))
}

/// A token file should be readable by its owner only (mode 600).
#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "token_file {} is readable by other users; restrict it with: chmod 600 {}",
                path.display(),
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: &TokenError) -> String {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        msg
    }

    #[test]
    fn a_token_file_wins_and_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  abc\n").unwrap();
        let token = read_token(Some(&path), "HUNTR_SYNC_TEST_UNSET_TOKEN").unwrap();
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn empty_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, " \n").unwrap();
        let err = read_token(Some(&path), "T").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("token_file {} is empty", path.display())
        );
        let missing = dir.path().join("nope");
        let err = read_token(Some(&missing), "T").unwrap_err();
        let text = message(&err);
        assert!(
            text.starts_with(&format!("cannot read token_file {}: ", missing.display())),
            "{text}"
        );
    }

    #[test]
    fn an_unset_variable_says_how_to_set_it() {
        let err = read_token(None, "HUNTR_SYNC_TEST_UNSET_TOKEN").unwrap_err();
        assert_eq!(
            message(&err),
            "HUNTR_SYNC_TEST_UNSET_TOKEN is not set: export HUNTR_SYNC_TEST_UNSET_TOKEN=<an access token from the organization's admin dashboard>"
        );
    }
}
