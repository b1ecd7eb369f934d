use core::fmt;
use std::path::{Path, PathBuf};

/// A Tencent Cloud API key pair, and a token for temporary credentials.
///
/// `Debug` shows the secret id, never the key or the token.
///
/// # Example
/// ```
/// use tencent_css_errcode::api::Credentials;
/// let credentials = Credentials::new("AKIDEXAMPLE", "SECRETEXAMPLE");
/// assert_eq!(format!("{credentials:?}"), r#"Credentials { secret_id: "AKIDEXAMPLE", secret_key: "(hidden)", token: None }"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    secret_id: String,
    secret_key: String,
    token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"(hidden)")
            .field("token", &self.token.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

/// Why no credentials could be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// Neither the environment nor a profile file holds them.
    #[error(
        "no credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or write secret_id and secret_key under [default] in {}",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" or ")
    )]
    Missing {
        /// The profile files looked at.
        searched: Vec<PathBuf>,
    },
    /// Only one of the pair is set in the environment.
    #[error("{set} is set but {missing} is not")]
    Incomplete {
        /// The variable that is set.
        set: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// A profile file exists but cannot be read, or its `[default]` section lacks a key.
    #[error("{path}: {reason}")]
    Profile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Credentials {
    /// Credentials from a secret id and key.
    ///
    /// # Example
    /// ```
    /// let credentials = tencent_css_errcode::api::Credentials::new("AKID…", "key");
    /// assert_eq!(credentials.secret_id(), "AKID…");
    /// ```
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: None,
        }
    }

    /// The same credentials with a token for temporary (STS) credentials, sent as `X-TC-Token`.
    ///
    /// # Example
    /// ```
    /// let credentials = tencent_css_errcode::api::Credentials::new("id", "key").with_token("token");
    /// assert_eq!(credentials.token(), Some("token"));
    /// ```
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The secret id.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::api::Credentials::new("id", "key").secret_id(), "id");
    /// ```
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The temporary-credentials token, if any.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::api::Credentials::new("id", "key").token(), None);
    /// ```
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub(crate) fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Loads credentials as Tencent's SDKs do: `TENCENTCLOUD_SECRET_ID` and
    /// `TENCENTCLOUD_SECRET_KEY` (with `TENCENTCLOUD_TOKEN`, tccli's name, for a temporary
    /// token), else the `[default]` profile of the file named by
    /// `TENCENTCLOUD_CREDENTIALS_FILE`, else of `~/.tencentcloud/credentials`.
    ///
    /// # Example
    /// ```no_run
    /// let credentials = tencent_css_errcode::api::Credentials::load()?;
    /// # Ok::<(), tencent_css_errcode::api::CredentialsError>(())
    /// ```
    pub fn load() -> Result<Credentials, CredentialsError> {
        Credentials::load_from(|name| std::env::var(name).ok())
    }

    /// [`load`](Credentials::load) with the environment given as a function, for tests and for
    /// programs that keep their own.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::Credentials;
    /// let env = |name: &str| match name {
    ///     "TENCENTCLOUD_SECRET_ID" => Some("id".to_owned()),
    ///     "TENCENTCLOUD_SECRET_KEY" => Some("key".to_owned()),
    ///     _ => None,
    /// };
    /// assert_eq!(Credentials::load_from(env)?, Credentials::new("id", "key"));
    /// # Ok::<(), tencent_css_errcode::api::CredentialsError>(())
    /// ```
    pub fn load_from(
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsError> {
        const ID: &str = "TENCENTCLOUD_SECRET_ID";
        const KEY: &str = "TENCENTCLOUD_SECRET_KEY";
        let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        match (non_empty(ID), non_empty(KEY)) {
            (Some(id), Some(key)) => {
                let credentials = Credentials::new(id.trim(), key.trim());
                return Ok(match non_empty("TENCENTCLOUD_TOKEN") {
                    Some(token) => credentials.with_token(token.trim()),
                    None => credentials,
                });
            }
            (Some(_), None) => {
                return Err(CredentialsError::Incomplete {
                    set: ID,
                    missing: KEY,
                });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::Incomplete {
                    set: KEY,
                    missing: ID,
                });
            }
            (None, None) => {}
        }
        let mut searched = Vec::new();
        if let Some(file) = non_empty("TENCENTCLOUD_CREDENTIALS_FILE") {
            searched.push(PathBuf::from(file));
        }
        if let Some(home) = non_empty("HOME") {
            searched.push(Path::new(&home).join(".tencentcloud").join("credentials"));
        }
        for path in &searched {
            if path.exists() {
                return Credentials::from_profile(path, "default");
            }
        }
        Err(CredentialsError::Missing { searched })
    }

    /// Reads `secret_id` and `secret_key` (and `token`, if present) from a section of an INI
    /// profile file, such as `~/.tencentcloud/credentials`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::Credentials;
    /// let path = std::env::temp_dir().join(format!("credentials-doc-{}", std::process::id()));
    /// std::fs::write(&path, "[default]\nsecret_id = id\nsecret_key = key\n")?;
    /// assert_eq!(Credentials::from_profile(&path, "default")?, Credentials::new("id", "key"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_profile(path: &Path, section: &str) -> Result<Credentials, CredentialsError> {
        let fail = |reason: String| CredentialsError::Profile {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let (mut id, mut key, mut token) = (None, None, None);
        let mut in_section = false;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_section = name.trim() == section;
                continue;
            }
            if !in_section {
                continue;
            }
            if let Some((name, value)) = line.split_once('=') {
                let value = value.trim().to_owned();
                match name.trim() {
                    "secret_id" => id = Some(value),
                    "secret_key" => key = Some(value),
                    "token" => token = Some(value),
                    _ => {}
                }
            }
        }
        match (id, key) {
            (Some(id), Some(key)) if !id.is_empty() && !key.is_empty() => {
                let credentials = Credentials::new(id, key);
                Ok(match token.filter(|t| !t.is_empty()) {
                    Some(token) => credentials.with_token(token),
                    None => credentials,
                })
            }
            _ => Err(fail(format!(
                "section [{section}] needs secret_id and secret_key"
            ))),
        }
    }
}
