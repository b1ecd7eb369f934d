//! Where a command finds a receiver's store: `--data-dir`, `--database` or `--database-env`.

use std::path::PathBuf;

use tencent_css_errcode::store::Location;

/// A receiver's store: a data directory (SQLite) or a PostgreSQL database.
#[derive(clap::Args, Clone, Debug, Default)]
#[group(multiple = false)]
pub struct StoreArgs {
    /// The store's directory (DIR/events.db, SQLite), on a local filesystem.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The store in PostgreSQL instead: postgres://user@host:port/db (the `postgres` feature).
    /// A password here is visible to every user of the machine: prefer --database-env.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Environment variable that holds the PostgreSQL URL (with its password).
    #[arg(long, value_name = "VAR")]
    pub database_env: Option<String>,
}

impl StoreArgs {
    /// The store named, if one is.
    pub fn location(&self) -> Result<Option<Location>, String> {
        if let Some(dir) = &self.data_dir {
            return Ok(Some(Location::Directory(dir.clone())));
        }
        let url = match (&self.database, &self.database_env) {
            (Some(url), _) => url.clone(),
            (None, Some(var)) => std::env::var(var)
                .ok()
                .filter(|url| !url.is_empty())
                .ok_or_else(|| format!("the environment variable {var} holds no database URL"))?,
            (None, None) => return Ok(None),
        };
        match Location::parse(&url) {
            location @ Location::Postgres(_) => Ok(Some(location)),
            _ => Err(
                "--database takes a postgres:// URL (for a directory, use --data-dir)".to_owned(),
            ),
        }
    }

    /// The store named, which the command needs.
    pub fn required(&self) -> Result<Location, String> {
        self.location()?.ok_or_else(|| {
            "name the store: --data-dir DIR, --database URL or --database-env VAR".to_owned()
        })
    }
}
