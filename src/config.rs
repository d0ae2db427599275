//! Settings: defaults, then `hoanhap.toml` (or the file named by `--config` /
//! `HOANHAP_CONFIG`), then `HOANHAP_*` environment variables (`__` separates sections,
//! e.g. `HOANHAP_AUTH__MFA_REQUIRED_ROLES`). Secrets can be given as files with the
//! `*_file` settings. An unknown key or a bad value stops start-up naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration error: {0}")]
    Invalid(String),
    #[error("cannot read {setting} from {path}: {source}")]
    SecretFile {
        setting: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `hoanhap=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// The server's age identity; default `<data_dir>/keys/identity.txt`.
    pub identity_file: Option<PathBuf>,
    /// The age-encrypted master key; default `<data_dir>/keys/master.age`.
    pub master_key_file: Option<PathBuf>,
    /// Offline recovery recipients (`age1...`) used when keys are first created.
    pub recovery_recipients: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Roles that must use a second factor.
    pub mfa_required_roles: Vec<String>,
    pub idle_timeout_minutes: u64,
    pub absolute_timeout_hours: u64,
    /// Plain-HTTP local use: cookies without `Secure` and the `__Host-` prefix.
    pub insecure_cookies: bool,
    /// Reverse proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; from any other peer those headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeSettings {
    /// Prefix of client codes, `{prefix}-{year}-{seq:05}`.
    pub code_prefix: String,
    /// Area code of the province the installation serves.
    pub province_area: String,
    /// Who receives the six-monthly report (names changed in the 2025 reorganisation).
    pub report_recipient: String,
    pub programme_owner: String,
    /// Local time of the programme, in minutes ahead of UTC (Vietnam: 420); decides what
    /// "today" is for dates staff enter.
    pub utc_offset_minutes: i32,
    /// The areas a new installation starts with (read once, into an empty database).
    #[serde(default)]
    pub area_seed: AreaSeed,
}

/// The units a new installation is seeded with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AreaSeed {
    /// Nghệ An's province and its 21 district-level units of 2024, for installations
    /// with 2024 records.
    #[serde(rename = "nghe-an-2024")]
    NgheAn2024,
    /// Nghệ An after the reform of 1 July 2025: 130 communes and wards, each linked to the
    /// 2024 district it came from; the 2024 districts are kept, retired on 30 June 2025,
    /// for older records and for figures set beside 2024's.
    #[default]
    #[serde(rename = "nghe-an-2025")]
    NgheAn2025,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; default a SQLite file in the data dir.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    pub database_url_file: Option<PathBuf>,
    /// Folder with `schema.cedarschema` and `*.cedar`; default: the policies built in.
    pub policy_dir: Option<PathBuf>,
    /// Where Prometheus `/metrics` is served; off unless set. Bind it to a private address.
    pub metrics_listen: Option<SocketAddr>,
    /// The append-only erasure ledger; default `<data_dir>/erasures.ledger`.
    pub erasure_ledger_file: Option<PathBuf>,
    pub log: LogSettings,
    pub keys: KeySettings,
    pub auth: AuthSettings,
    pub programme: ProgrammeSettings,
    #[serde(default)]
    pub cases: CasesSettings,
}

/// Case-work settings (`[cases]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesSettings {
    /// A referral still `referred` or `accepted` with no movement for this many days
    /// appears on the follow-up list.
    pub referral_followup_days: u32,
}

impl Default for CasesSettings {
    fn default() -> Self {
        Self {
            referral_followup_days: 14,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_url_file: None,
            policy_dir: None,
            metrics_listen: None,
            erasure_ledger_file: None,
            log: LogSettings {
                format: LogFormat::Text,
                level: "info".into(),
            },
            keys: KeySettings {
                identity_file: None,
                master_key_file: None,
                recovery_recipients: Vec::new(),
            },
            auth: AuthSettings {
                mfa_required_roles: ["admin", "supervisor", "social_worker", "manager", "auditor"]
                    .map(String::from)
                    .to_vec(),
                idle_timeout_minutes: 30,
                absolute_timeout_hours: 12,
                insecure_cookies: false,
                trusted_proxies: Vec::new(),
            },
            programme: ProgrammeSettings {
                code_prefix: "NA".into(),
                province_area: "40".into(),
                report_recipient: "Sở Lao động – Thương binh và Xã hội tỉnh Nghệ An".into(),
                programme_owner: "Ủy ban nhân dân tỉnh Nghệ An".into(),
                utc_offset_minutes: crate::clock::DEFAULT_UTC_OFFSET_MINUTES,
                area_seed: AreaSeed::default(),
            },
            cases: CasesSettings::default(),
        }
    }
}

/// Environment variables that belong to the tooling rather than to the settings.
const NOT_SETTINGS: &[&str] = &["config", "test_database_url"];

impl Settings {
    /// Loads the layers. `file` is the `--config` argument; `HOANHAP_CONFIG` is the
    /// fallback, then `./hoanhap.toml` if it exists.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env_file = std::env::var_os("HOANHAP_CONFIG").map(PathBuf::from);
        let explicit = file.map(Path::to_path_buf).or(env_file);
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match &explicit {
            Some(path) if !path.exists() => {
                return Err(ConfigError::Invalid(format!(
                    "the settings file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("hoanhap.toml")),
        }
        figment = figment.merge(Env::prefixed("HOANHAP_").split("__").ignore(NOT_SETTINGS));
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        for role in &self.auth.mfa_required_roles {
            if role.parse::<crate::policy::Role>().is_err() {
                return bad(format!("auth.mfa_required_roles: unknown role `{role}`"));
            }
        }
        if self.auth.idle_timeout_minutes == 0 || self.auth.absolute_timeout_hours == 0 {
            return bad("auth.idle_timeout_minutes and auth.absolute_timeout_hours must be at least 1".into());
        }
        if let Err(bad_entry) = crate::web::proxy::TrustedProxies::parse(&self.auth.trusted_proxies) {
            return bad(format!(
                "auth.trusted_proxies: `{bad_entry}` is not an IP address or CIDR block"
            ));
        }
        let prefix = &self.programme.code_prefix;
        if prefix.is_empty() || prefix.len() > 8 || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
            return bad("programme.code_prefix: one to eight capital letters, such as NA".into());
        }
        if !(-12 * 60..=14 * 60).contains(&self.programme.utc_offset_minutes) {
            return bad("programme.utc_offset_minutes: between -720 and 840".into());
        }
        if self.database_url.is_some() && self.database_url_file.is_some() {
            return bad("database_url and database_url_file are both set; keep one".into());
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError::Invalid(format!("log.level: {e}")))?;
        Ok(())
    }

    /// The erasure ledger file.
    pub fn ledger_path(&self) -> PathBuf {
        self.erasure_ledger_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("erasures.ledger"))
    }

    pub fn key_files(&self) -> crate::crypto::KeyFiles {
        let keys = self.data_dir.join("keys");
        crate::crypto::KeyFiles {
            identity: self
                .keys
                .identity_file
                .clone()
                .unwrap_or_else(|| keys.join("identity.txt")),
            master: self
                .keys
                .master_key_file
                .clone()
                .unwrap_or_else(|| keys.join("master.age")),
        }
    }

    /// The database URL: the setting, the file it names, or SQLite in the data dir.
    pub fn database_url(&self) -> Result<SecretString, ConfigError> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        if let Some(path) = &self.database_url_file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                setting: "database_url_file",
                path: path.display().to_string(),
                source,
            })?;
            return Ok(SecretString::from(text.trim().to_owned()));
        }
        Ok(SecretString::from(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("hoanhap.db").display()
        )))
    }
}

/// Figment's error names the setting (its path) and the problem; keep only that, since
/// the value itself may be a secret.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let path = err.path.join(".");
            let kind = match &err.kind {
                figment::error::Kind::UnknownField(field, _) => format!("unknown setting `{field}`"),
                figment::error::Kind::InvalidType(actual, expected) => {
                    format!("expected {expected}, found {actual}")
                }
                figment::error::Kind::InvalidValue(_, expected) => format!("expected {expected}"),
                other => other.to_string(),
            };
            let source = err
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if path.is_empty() {
                format!("{kind}{source}")
            } else {
                format!("setting `{path}`: {kind}{source}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Format;

    fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(text)))
    }

    #[test]
    fn defaults_are_local_and_sqlite() {
        let s = from_toml("").unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        use secrecy::ExposeSecret;
        assert!(
            s.database_url()
                .unwrap()
                .expose_secret()
                .starts_with("sqlite://./data/")
        );
    }

    #[test]
    fn unknown_and_bad_settings_are_named() {
        let e = from_toml("lissten = \"1.2.3.4:1\"").unwrap_err().to_string();
        assert!(e.contains("lissten"), "{e}");
        let e = from_toml("listen = \"not an address\"").unwrap_err().to_string();
        assert!(e.contains("listen"), "{e}");
        let e = from_toml("[auth]\nmfa_required_roles = [\"boss\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mfa_required_roles"), "{e}");
        let e = from_toml("[log]\nformat = \"xml\"").unwrap_err().to_string();
        assert!(e.contains("log.format"), "{e}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's own test jail
    fn env_overrides_file_with_double_underscore() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hoanhap.toml",
                "listen = \"127.0.0.1:9000\"\n[auth]\nmfa_required_roles = []",
            )?;
            jail.set_env("HOANHAP_LISTEN", "127.0.0.1:9100");
            jail.set_env("HOANHAP_AUTH__IDLE_TIMEOUT_MINUTES", "5");
            jail.set_env("HOANHAP_TEST_DATABASE_URL", "postgres://ignored");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.listen.port(), 9100);
            assert_eq!(s.auth.idle_timeout_minutes, 5);
            assert!(s.auth.mfa_required_roles.is_empty());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_default_to_none_and_bad_entries_are_named() {
        assert!(from_toml("").unwrap().auth.trusted_proxies.is_empty());
        let s = from_toml("[auth]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]").unwrap();
        assert_eq!(s.auth.trusted_proxies.len(), 2);
        let e = from_toml("[auth]\ntrusted_proxies = [\"10.0.0.0/33\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("auth.trusted_proxies") && e.contains("10.0.0.0/33"), "{e}");
    }
}
