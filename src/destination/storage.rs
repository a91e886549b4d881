//! Where a destination's files live: a local directory, or a prefix of an
//! object store (Amazon S3 and S3-compatible stores, Azure Blob Storage,
//! Google Cloud Storage) reached through the `object_store` crate.
//!
//! Credentials come only from each cloud's standard environment variables
//! and credential chains (`AWS_*`, `AZURE_*`, `GOOGLE_*`, web identity,
//! instance metadata), never from `pipelines.toml`; a pipeline may only
//! name an endpoint for an S3-compatible store. Before a run writes
//! anything, [`Bucket::check_writable`] proves the location exists and
//! accepts writes, and its refusal is one line naming the cause.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as Key;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use url::Url;

/// A destination's location, as written after `parquet:` or `delta:`.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Local(PathBuf),
    Remote(Url),
}

/// The URL schemes of the object stores we reach.
pub const SCHEMES: &[&str] = &["s3", "s3a", "az", "azure", "abfs", "abfss", "gs"];

impl Location {
    /// A URL with a known object-store scheme, else a local path.
    pub fn parse(s: &str) -> Result<Location, String> {
        let Some((scheme, _)) = s.split_once("://") else {
            return Ok(Location::Local(s.into()));
        };
        if !SCHEMES.contains(&scheme) {
            return Err(format!(
                "`{s}`: unknown storage `{scheme}://` (use a local path, s3://, az:// or gs://)"
            ));
        }
        let url = Url::parse(s).map_err(|e| format!("`{s}` is not a valid URL: {e}"))?;
        if url.host_str().unwrap_or("").is_empty() {
            return Err(format!("`{s}` names no bucket or container"));
        }
        Ok(Location::Remote(url))
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Remote(_))
    }

    pub fn describe(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Remote(u) => u.as_str().trim_end_matches('/').to_owned(),
        }
    }
}

/// What a pipeline may say about its storage (never a credential).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageOptions {
    /// An S3-compatible endpoint (MinIO, Cloudflare R2); `AWS_ENDPOINT_URL`
    /// names one too.
    pub endpoint: Option<String>,
}

/// Why storage failed, in one line naming the location and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// An open location: the store (rooted at its bucket, or at `/` for a
/// local directory) and the prefix every key of the destination is under.
#[derive(Clone)]
pub struct Bucket {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: Key,
    /// The location's URL (`file://` for a local directory).
    pub url: Url,
    /// How messages name it.
    pub name: String,
    /// The directory, for a location on local disk: finished files are
    /// renamed into place there instead of copied.
    local: Option<PathBuf>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// Retries of one storage request: a few, within a minute, so a dead
/// endpoint fails the run promptly instead of after the crate's default
/// three minutes.
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    }
}

fn client_options() -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout(Duration::from_secs(300))
}

/// Opens `loc` (a local directory is created).
pub fn open(loc: &Location, opts: &StorageOptions) -> Result<Bucket, StorageError> {
    match loc {
        Location::Local(dir) => open_local(dir),
        Location::Remote(url) => open_remote(url, opts),
    }
}

fn open_local(dir: &Path) -> Result<Bucket, StorageError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StorageError(format!("cannot create {}: {e}", dir.display())))?;
    let abs = std::fs::canonicalize(dir)
        .map_err(|e| StorageError(format!("cannot open {}: {e}", dir.display())))?;
    let url = Url::from_directory_path(&abs)
        .map_err(|_| StorageError(format!("{} is not an absolute path", abs.display())))?;
    let prefix = Key::from_url_path(url.path())
        .map_err(|e| StorageError(format!("{}: {e}", abs.display())))?;
    Ok(Bucket {
        store: Arc::new(object_store::local::LocalFileSystem::new()),
        prefix,
        url,
        name: dir.display().to_string(),
        local: Some(abs),
    })
}

fn open_remote(url: &Url, opts: &StorageOptions) -> Result<Bucket, StorageError> {
    let name = url.as_str().trim_end_matches('/').to_owned();
    let fail = |e: object_store::Error| StorageError(format!("{name}: {}", one_line(&e)));
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut b = AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .with_retry(retry())
                .with_client_options(client_options());
            if let Some(e) = &opts.endpoint {
                b = b.with_endpoint(e);
            }
            let endpoint = b.get_config_value(&AmazonS3ConfigKey::Endpoint);
            let allow_http = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v == "true");
            if let Some(e) = endpoint.filter(|e| e.starts_with("http://")) {
                if !allow_http {
                    return Err(StorageError(format!(
                        "{name}: the endpoint {e} is plain http; set AWS_ALLOW_HTTP=true to allow it"
                    )));
                }
                b = b.with_allow_http(true);
            }
            Arc::new(b.build().map_err(fail)?)
        }
        "gs" => {
            let b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .with_retry(retry())
                .with_client_options(client_options());
            Arc::new(b.build().map_err(fail)?)
        }
        _ => {
            let b = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .with_retry(retry())
                .with_client_options(client_options());
            Arc::new(b.build().map_err(fail)?)
        }
    };
    let prefix =
        Key::from_url_path(url.path()).map_err(|e| StorageError(format!("{name}: {e}")))?;
    Ok(Bucket {
        store,
        prefix,
        url: url.clone(),
        name,
        local: None,
    })
}

impl Bucket {
    /// The key of `rel` (a `/`-separated path) under the prefix.
    pub fn key(&self, rel: &str) -> Key {
        let mut k = self.prefix.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            k = k.join(part);
        }
        k
    }

    /// The URL of `rel` under the location (a table's root, for Delta).
    pub fn url_of(&self, rel: &str) -> Url {
        let mut base = self.url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(&format!("{rel}/"))
            .expect("a relative path joins onto a URL")
    }

    /// Writes a probe object and deletes it: the location exists, the
    /// credentials are accepted and they may write.
    pub async fn check_writable(&self) -> Result<(), StorageError> {
        let probe = self.key(&format!("_huntr_sync/.write-check-{}", std::process::id()));
        self.store
            .put(&probe, "huntr-sync write check".into())
            .await
            .map_err(|e| self.error("cannot write to", &e))?;
        self.store
            .delete(&probe)
            .await
            .map_err(|e| self.error("cannot delete from", &e))
    }

    /// Uploads a local file to `rel`: one upload, which the store makes
    /// visible whole when it completes (a reader sees the old object or the
    /// new one, never part of one).
    pub async fn upload(&self, file: &Path, rel: &str) -> Result<u64, StorageError> {
        use tokio::io::AsyncReadExt;
        let key = self.key(rel);
        let err = |e: &dyn std::fmt::Display| {
            StorageError(format!(
                "cannot upload {} to {}/{rel}: {e}",
                file.display(),
                self.name
            ))
        };
        let mut f = tokio::fs::File::open(file).await.map_err(|e| err(&e))?;
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| err(&one_line(&e)))?;
        let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, 16 << 20);
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).await.map_err(|e| err(&e))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            w.wait_for_capacity(2)
                .await
                .map_err(|e| err(&one_line(&e)))?;
            w.write(&buf[..n]);
        }
        w.finish().await.map_err(|e| err(&one_line(&e)))?;
        Ok(total)
    }

    /// Writes a small object in one request.
    pub async fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&self.key(rel), bytes.into())
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("cannot write {rel} to"), &e))
    }

    /// Moves a finished local file (in the spool) to `rel`, where it
    /// appears whole or not at all: on local disk a rename (a copy first
    /// when the spool is on another file system), elsewhere one upload.
    /// Returns its size; the spool file is gone afterwards.
    pub async fn publish_file(&self, file: &Path, rel: &str) -> Result<u64, StorageError> {
        let Some(root) = &self.local else {
            let size = self.upload(file, rel).await?;
            let _ = std::fs::remove_file(file);
            return Ok(size);
        };
        let err = |e: std::io::Error| {
            StorageError(format!(
                "cannot move {} to {}/{rel}: {e}",
                file.display(),
                self.name
            ))
        };
        let size = std::fs::metadata(file).map_err(err)?.len();
        let to = root.join(rel);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        if std::fs::rename(file, &to).is_err() {
            // Another file system: copy beside the target, then rename.
            let tmp = to.with_extension("part");
            std::fs::copy(file, &tmp).map_err(err)?;
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(err)?;
            std::fs::rename(&tmp, &to).map_err(err)?;
            let _ = std::fs::remove_file(file);
        }
        Ok(size)
    }

    /// Moves a finished local directory of files to `rel`, complete once
    /// its file `last` (a manifest) is there: on local disk one rename of
    /// the whole directory; elsewhere each file uploaded, `last` last.
    pub async fn publish_dir(&self, dir: &Path, rel: &str, last: &str) -> Result<(), StorageError> {
        let err = |e: std::io::Error| {
            StorageError(format!(
                "cannot move {} to {}/{rel}: {e}",
                dir.display(),
                self.name
            ))
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(err)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort_by_key(|n| (n == last, n.clone()));
        if let Some(root) = &self.local {
            let to = root.join(rel);
            if to.exists() {
                std::fs::remove_dir_all(&to).map_err(err)?;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(err)?;
            }
            if std::fs::rename(dir, &to).is_ok() {
                return Ok(());
            }
        }
        for name in names {
            self.publish_file(&dir.join(&name), &format!("{rel}/{name}"))
                .await?;
        }
        let _ = std::fs::remove_dir(dir);
        Ok(())
    }

    /// The names of the directories (common prefixes) right under `rel`.
    pub async fn dirs(&self, rel: &str) -> Result<Vec<String>, StorageError> {
        let at = self.key(rel);
        let listing = match self.store.list_with_delimiter(Some(&at)).await {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.error("cannot list", &e)),
        };
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect())
    }

    fn error(&self, what: &str, e: &object_store::Error) -> StorageError {
        StorageError(format!("{what} {}: {}", self.name, explain(e)))
    }
}

/// An object-store error as one line, its cause named first where we can
/// tell it (the crate's messages nest the HTTP answer several levels deep).
pub fn explain(e: &object_store::Error) -> String {
    let text = one_line(e);
    let has = |s: &str| text.contains(s);
    let cause = if has("NoSuchBucket") || has("ContainerNotFound") || has("bucket does not exist") {
        "the bucket (or container) does not exist: create it, or fix the destination URL"
    } else if has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("AccessDenied")
        || has("AuthenticationFailed")
        || has("403 Forbidden")
        || has("401 Unauthorized")
    {
        "the storage refused the credentials: check the cloud's credential variables (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_*, GOOGLE_APPLICATION_CREDENTIALS) or the instance's role"
    } else if has("error sending request")
        || has("Connection refused")
        || has("connection")
        || has("dns error")
        || has("timed out")
    {
        "the storage endpoint cannot be reached: check the URL, AWS_ENDPOINT_URL or the pipeline's endpoint, and the network"
    } else {
        return text;
    };
    format!("{cause} ({})", shorten(&text))
}

/// Every line of an error and its sources, joined.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(s: &str) -> String {
    const MAX: usize = 240;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_a_known_scheme_are_remote_and_the_rest_are_paths() {
        assert_eq!(
            Location::parse("out/dir").unwrap(),
            Location::Local("out/dir".into())
        );
        for url in [
            "s3://b/p",
            "az://c/p",
            "gs://b",
            "abfss://c@acct.dfs.core.windows.net/p",
        ] {
            assert!(Location::parse(url).unwrap().is_remote(), "{url}");
        }
        assert!(Location::parse("ftp://x/y")
            .unwrap_err()
            .contains("unknown storage"));
        assert!(Location::parse("s3:///p")
            .unwrap_err()
            .contains("no bucket"));
    }

    #[test]
    fn keys_and_urls_are_under_the_prefix() {
        let b = open_remote(
            &Url::parse("s3://bucket/some/prefix").unwrap(),
            &StorageOptions::default(),
        )
        .unwrap();
        assert_eq!(
            b.key("jobs/jobs.parquet").as_ref(),
            "some/prefix/jobs/jobs.parquet"
        );
        assert_eq!(b.url_of("jobs").as_str(), "s3://bucket/some/prefix/jobs/");
    }

    #[test]
    fn a_plain_http_endpoint_needs_aws_allow_http() {
        if std::env::var("AWS_ALLOW_HTTP").is_ok() {
            return;
        }
        let err = open_remote(
            &Url::parse("s3://bucket/p").unwrap(),
            &StorageOptions {
                endpoint: Some("http://127.0.0.1:9".into()),
            },
        )
        .unwrap_err();
        assert!(err.0.contains("AWS_ALLOW_HTTP=true"), "{err}");
    }
}
