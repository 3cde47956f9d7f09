//! Typed settings, read once at start from the environment. A bad value stops the process with
//! a one-line reason (see `SettingsError`), never a panic trace.
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("配置错误 {name}: {reason}")]
pub struct SettingsError {
    pub name: &'static str,
    pub reason: String,
}

fn err(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        reason: reason.into(),
    }
}

/// Keys derived from `SONGNUAN_SECRET`, one per purpose, so a leak of one use does not expose
/// another.
#[derive(Clone)]
pub struct Keys {
    pub token: [u8; 32],
    pub field: [u8; 32],
    pub blind_index: [u8; 32],
}

impl Keys {
    pub fn derive(secret: &[u8]) -> Keys {
        let sub = |label: &[u8]| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
            mac.update(b"songnuan/");
            mac.update(label);
            let out: [u8; 32] = mac.finalize().into_bytes().into();
            out
        };
        Keys {
            token: sub(b"token"),
            field: sub(b"field-encryption"),
            blind_index: sub(b"blind-index"),
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(**redacted**)")
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub listen: SocketAddr,
    /// Where `/metrics` is served (`SONGNUAN_METRICS_LISTEN`); never on the API's address, and
    /// not at all when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// How long a stopping server waits for requests in flight before it exits anyway
    /// (`SONGNUAN_SHUTDOWN_GRACE_SECS`, default 10).
    pub shutdown_grace: Duration,
    pub admin_password: Option<String>,
    pub data_dir: PathBuf,
    pub keys: Keys,
    /// True when no `SONGNUAN_SECRET` was given and a development key under the data dir is used.
    pub dev_secret: bool,
    pub token_ttl: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted load balancer).
    pub trust_forwarded_for: bool,
    /// Name of the organisation created on first start.
    pub federation_name: String,
    pub login_throttle: LoginThrottle,
    pub db_max_connections: u32,
    /// Bytes of finished answers each replica keeps (`SONGNUAN_ANSWER_CACHE_MB`, default 64;
    /// 0 turns the cache off).
    pub answer_cache_bytes: usize,
    /// Most one person (by ID number) may receive across the campaigns of one year; off when
    /// unset (`SONGNUAN_ANNUAL_CAP`, e.g. "2000.00").
    pub annual_cap: Option<crate::core::money::Money>,
    /// Whether this process runs the background jobs (`SONGNUAN_JOB_RUNNER`, default on).
    pub job_runner: bool,
    /// How often an idle job runner looks for due jobs (`SONGNUAN_JOB_POLL_MS`, default 200).
    pub job_poll: Duration,
    /// A failed job's first retry delay, doubled at each further attempt
    /// (`SONGNUAN_JOB_BACKOFF_MS`, default 1000).
    pub job_backoff_base: Duration,
    /// The SMS provider of the NOTICE jobs, the receipt hook's secret, the per-number limit.
    pub sms: SmsSettings,
    /// Entry reminders: `DUE_SOON` when a deadline is within this many working days
    /// (`SONGNUAN_REMINDER_DAYS`, default 5).
    pub reminder_days: u32,
    /// When the daily ENTRY_REMINDERS job is queued, Asia/Shanghai time
    /// (`SONGNUAN_REMINDER_AT`, default 09:00; `off`: never queued by this process).
    pub reminder_at: Option<chrono::NaiveTime>,
    /// The group robot (企业微信/钉钉) each new reminder is posted to (`SONGNUAN_ROBOT_WEBHOOK`).
    pub robot_webhook: Option<String>,
    /// Each robot POST's timeout (`SONGNUAN_ROBOT_TIMEOUT_MS`, default 10000): a robot that
    /// never answers must not hold the job (and its lease) forever; an expired post fails the
    /// job, which retries.
    pub robot_timeout: Duration,
    /// The provincial aid platform's push endpoint (`SONGNUAN_PROVINCE_*`); no push when unset.
    pub province: Option<ProvinceSettings>,
    /// LETTER notices wait this long after the payment before their campaign's batch is printed,
    /// so a burst of payments makes one document (`SONGNUAN_LETTER_DELAY_SECS`, default 60).
    pub letter_delay: Duration,
}

/// The provincial platform push (`work::province`). `Debug` hides the token.
#[derive(Clone)]
pub struct ProvinceSettings {
    /// The batch endpoint, POSTed to as is (`SONGNUAN_PROVINCE_URL`); https, or http on loopback.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` (`SONGNUAN_PROVINCE_TOKEN`).
    pub token: String,
    /// Records per request (`SONGNUAN_PROVINCE_BATCH`, default 100).
    pub batch: u32,
    /// How often a PROVINCIAL_PUSH job is queued when records are due
    /// (`SONGNUAN_PROVINCE_EVERY_SECS`, default 600).
    pub every: Duration,
    /// Each request's timeout (`SONGNUAN_PROVINCE_TIMEOUT_MS`, default 30000).
    pub timeout: Duration,
}

impl std::fmt::Debug for ProvinceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvinceSettings")
            .field("url", &self.url)
            .field("token", &"**redacted**")
            .field("batch", &self.batch)
            .field("every", &self.every)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Clear personal data (the ID number) leaves only over TLS, or to a platform on this host.
fn province_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<ProvinceSettings>, SettingsError> {
    let Some(url) = get("SONGNUAN_PROVINCE_URL") else {
        return Ok(None);
    };
    let loopback = [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://localhost/",
        "http://[::1]:",
    ];
    if !(url.starts_with("https://") || loopback.iter().any(|p| url.starts_with(p))) {
        return Err(err(
            "SONGNUAN_PROVINCE_URL",
            "应为 https:// 地址（含个人信息，只经加密通道发送；http:// 仅限本机）",
        ));
    }
    let token = get("SONGNUAN_PROVINCE_TOKEN").ok_or_else(|| {
        err(
            "SONGNUAN_PROVINCE_TOKEN",
            "设置了 SONGNUAN_PROVINCE_URL 时必须设置",
        )
    })?;
    Ok(Some(ProvinceSettings {
        url,
        token,
        batch: parse_num(get, "SONGNUAN_PROVINCE_BATCH", 100u32, 1, 1000)?,
        every: Duration::from_secs(parse_num(get, "SONGNUAN_PROVINCE_EVERY_SECS", 600u64, 1, 86_400)?),
        timeout: Duration::from_millis(parse_num(
            get,
            "SONGNUAN_PROVINCE_TIMEOUT_MS",
            30_000u64,
            50,
            300_000,
        )?),
    }))
}

/// Which SMS provider sends the NOTICE jobs (`SONGNUAN_SMS_PROVIDER`, default `log`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsProviderKind {
    /// Writes the masked notice to the log, sends nothing.
    Log,
    /// An Aliyun-SendSms-like JSON API (`work::sms_http`).
    Http {
        /// Base address: `<url>/sms/send` and `<url>/sms/query` (`SONGNUAN_SMS_URL`).
        url: String,
        /// Sent as `Authorization: Bearer <key>` (`SONGNUAN_SMS_KEY`).
        key: String,
        /// Sign name (签名, `SONGNUAN_SMS_SIGN`) and template code (`SONGNUAN_SMS_TEMPLATE`).
        sign: String,
        template: String,
    },
}

/// SMS settings. `Debug` hides the key and the receipt secret.
#[derive(Clone)]
pub struct SmsSettings {
    pub provider: SmsProviderKind,
    /// Each provider call's timeout (`SONGNUAN_SMS_TIMEOUT_MS`, default 5000).
    pub timeout: Duration,
    /// Most notices one phone number gets per day (Asia/Shanghai), across runners
    /// (`SONGNUAN_SMS_PER_NUMBER_DAILY`, default 10).
    pub per_number_daily: u32,
    /// The shared secret of `POST /hooks/sms-receipt`; the hook does not exist when unset
    /// (`SONGNUAN_SMS_RECEIPT_SECRET`, at least 16 characters).
    pub receipt_secret: Option<String>,
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let provider = match &self.provider {
            SmsProviderKind::Log => "log".to_string(),
            SmsProviderKind::Http { url, .. } => format!("http {url}"),
        };
        f.debug_struct("SmsSettings")
            .field("provider", &provider)
            .field("timeout", &self.timeout)
            .field("per_number_daily", &self.per_number_daily)
            .field(
                "receipt_secret",
                &self.receipt_secret.as_ref().map(|_| "**redacted**"),
            )
            .finish()
    }
}

fn sms_settings(get: &impl Fn(&str) -> Option<String>) -> Result<SmsSettings, SettingsError> {
    let provider = match get("SONGNUAN_SMS_PROVIDER").as_deref() {
        None | Some("log") => SmsProviderKind::Log,
        Some("http") => {
            let need = |name: &'static str| {
                get(name).ok_or_else(|| err(name, "SONGNUAN_SMS_PROVIDER=http 时必须设置"))
            };
            let url = need("SONGNUAN_SMS_URL")?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err("SONGNUAN_SMS_URL", "必须以 http:// 或 https:// 开头"));
            }
            SmsProviderKind::Http {
                url: url.trim_end_matches('/').to_string(),
                key: need("SONGNUAN_SMS_KEY")?,
                sign: need("SONGNUAN_SMS_SIGN")?,
                template: need("SONGNUAN_SMS_TEMPLATE")?,
            }
        }
        Some(_) => return Err(err("SONGNUAN_SMS_PROVIDER", "应为 log 或 http")),
    };
    let receipt_secret = get("SONGNUAN_SMS_RECEIPT_SECRET");
    if receipt_secret.as_ref().is_some_and(|s| s.chars().count() < 16) {
        return Err(err("SONGNUAN_SMS_RECEIPT_SECRET", "至少需要 16 个字符"));
    }
    Ok(SmsSettings {
        provider,
        timeout: Duration::from_millis(parse_num(get, "SONGNUAN_SMS_TIMEOUT_MS", 5000u64, 50, 120_000)?),
        per_number_daily: parse_num(get, "SONGNUAN_SMS_PER_NUMBER_DAILY", 10u32, 1, 10_000)?,
        receipt_secret,
    })
}

/// Login-attempt limits per fixed window, per username and per client address: every attempt
/// takes a slot before its password is checked (`auth::login`), a success gives it back.
#[derive(Clone, Copy, Debug)]
pub struct LoginThrottle {
    pub window: Duration,
    pub per_username: u32,
    pub per_address: u32,
}

impl Settings {
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests can pass a map instead of touching the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(get("SONGNUAN_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(err("DATABASE_URL", "只支持 sqlite: 或 postgres:// 地址"));
                }
                url
            }
            None => {
                ensure_dir(&data_dir)?;
                format!("sqlite://{}?mode=rwc", data_dir.join("songnuan.db").display())
            }
        };
        let redis_url = get("REDIS_URL");
        if let Some(r) = &redis_url
            && !(r.starts_with("redis://") || r.starts_with("rediss://"))
        {
            return Err(err("REDIS_URL", "必须以 redis:// 开头"));
        }
        let listen = get("SONGNUAN_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse::<SocketAddr>()
            .map_err(|_| err("SONGNUAN_LISTEN", "应为 地址:端口，例如 127.0.0.1:8080"))?;
        let metrics_listen = get("SONGNUAN_METRICS_LISTEN")
            .map(|v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| err("SONGNUAN_METRICS_LISTEN", "应为 地址:端口，例如 127.0.0.1:9464"))
            })
            .transpose()?;
        if metrics_listen.is_some_and(|m| m == listen) {
            return Err(err("SONGNUAN_METRICS_LISTEN", "不能与 SONGNUAN_LISTEN 相同"));
        }
        let admin_password = get("SONGNUAN_ADMIN_PASSWORD");
        if let Some(p) = &admin_password {
            crate::core::passwords::check_password_strength(p)
                .map_err(|e| err("SONGNUAN_ADMIN_PASSWORD", e.to_string()))?;
        }
        let (secret, dev_secret) = match get("SONGNUAN_SECRET") {
            Some(s) if s.len() >= 32 => (s.into_bytes(), false),
            Some(_) => return Err(err("SONGNUAN_SECRET", "至少需要 32 个字符")),
            None => (dev_secret(&data_dir)?, true),
        };
        let token_ttl_hours = parse_num(&get, "SONGNUAN_TOKEN_TTL_HOURS", 12u64, 1, 24 * 30)?;
        let trust_forwarded_for = match get("SONGNUAN_TRUST_FORWARDED_FOR").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(_) => return Err(err("SONGNUAN_TRUST_FORWARDED_FOR", "应为 true 或 false")),
        };
        let job_runner = match get("SONGNUAN_JOB_RUNNER").as_deref() {
            None | Some("on") | Some("1") | Some("true") => true,
            Some("off") | Some("0") | Some("false") => false,
            Some(_) => return Err(err("SONGNUAN_JOB_RUNNER", "应为 on 或 off")),
        };
        Ok(Settings {
            database_url,
            redis_url,
            listen,
            metrics_listen,
            shutdown_grace: Duration::from_secs(parse_num(
                &get,
                "SONGNUAN_SHUTDOWN_GRACE_SECS",
                10u64,
                0,
                3600,
            )?),
            admin_password,
            data_dir,
            keys: Keys::derive(&secret),
            dev_secret,
            token_ttl: Duration::from_secs(token_ttl_hours * 3600),
            trust_forwarded_for,
            federation_name: get("SONGNUAN_FEDERATION_NAME").unwrap_or_else(|| "县总工会".into()),
            login_throttle: LoginThrottle {
                window: Duration::from_secs(
                    60 * parse_num(&get, "SONGNUAN_LOGIN_WINDOW_MINUTES", 15u64, 1, 1440)?,
                ),
                per_username: parse_num(&get, "SONGNUAN_LOGIN_MAX_FAILURES", 5u32, 1, 1000)?,
                per_address: parse_num(&get, "SONGNUAN_LOGIN_MAX_FAILURES_PER_ADDRESS", 20u32, 1, 100_000)?,
            },
            db_max_connections: parse_num(&get, "SONGNUAN_DB_MAX_CONNECTIONS", 16u32, 1, 500)?,
            answer_cache_bytes: parse_num(&get, "SONGNUAN_ANSWER_CACHE_MB", 64usize, 0, 16 * 1024)? << 20,
            annual_cap: match get("SONGNUAN_ANNUAL_CAP") {
                None => None,
                Some(v) => Some(
                    crate::core::money::Money::parse("SONGNUAN_ANNUAL_CAP", &v)
                        .map_err(|_| err("SONGNUAN_ANNUAL_CAP", "应为金额，例如 2000.00"))?,
                ),
            },
            job_runner,
            sms: sms_settings(&get)?,
            job_poll: Duration::from_millis(parse_num(&get, "SONGNUAN_JOB_POLL_MS", 200u64, 10, 60_000)?),
            job_backoff_base: Duration::from_millis(parse_num(
                &get,
                "SONGNUAN_JOB_BACKOFF_MS",
                1000u64,
                1,
                3_600_000,
            )?),
            reminder_days: parse_num(&get, "SONGNUAN_REMINDER_DAYS", 5u32, 0, 30)?,
            reminder_at: match get("SONGNUAN_REMINDER_AT").as_deref().map(str::trim) {
                None => chrono::NaiveTime::from_hms_opt(9, 0, 0),
                Some("off") => None,
                Some(v) => Some(chrono::NaiveTime::parse_from_str(v, "%H:%M").map_err(|_| {
                    err(
                        "SONGNUAN_REMINDER_AT",
                        "应为 HH:MM（北京时间），例如 09:00，或 off",
                    )
                })?),
            },
            robot_webhook: match get("SONGNUAN_ROBOT_WEBHOOK") {
                Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                    return Err(err("SONGNUAN_ROBOT_WEBHOOK", "应为 http:// 或 https:// 地址"));
                }
                other => other,
            },
            robot_timeout: Duration::from_millis(parse_num(
                &get,
                "SONGNUAN_ROBOT_TIMEOUT_MS",
                10_000u64,
                50,
                120_000,
            )?),
            province: province_settings(&get)?,
            letter_delay: Duration::from_secs(parse_num(
                &get,
                "SONGNUAN_LETTER_DELAY_SECS",
                60u64,
                0,
                86_400,
            )?),
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, SettingsError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(err(name, format!("应为 {min} 到 {max} 之间的整数"))),
        },
    }
}

fn ensure_dir(dir: &Path) -> Result<(), SettingsError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        err(
            "SONGNUAN_DATA_DIR",
            format!("无法创建目录 {}: {e}", dir.display()),
        )
    })
}

/// The development key: made once under the data dir so restarts keep tokens and encrypted data
/// readable. Never for production: the caller warns loudly.
fn dev_secret(data_dir: &Path) -> Result<Vec<u8>, SettingsError> {
    ensure_dir(data_dir)?;
    let path = data_dir.join("dev-secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing.into_bytes());
        }
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let key = hex::encode(raw);
    std::fs::write(&path, &key).map_err(|e| {
        err(
            "SONGNUAN_DATA_DIR",
            format!("无法写入开发密钥 {}: {e}", path.display()),
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(key.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let dir = std::env::temp_dir().join(format!("songnuan-settings-{}", rand::random::<u64>()));
        let mut m: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        m.entry("SONGNUAN_DATA_DIR".into())
            .or_insert(dir.display().to_string());
        Settings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_use_sqlite_under_data_dir_and_dev_key() {
        let s = with(&[]).unwrap();
        assert!(s.is_sqlite());
        assert!(s.dev_secret);
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.token_ttl, Duration::from_secs(12 * 3600));
        assert!(s.data_dir.join("dev-secret.key").exists());
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            with(&[("SONGNUAN_LISTEN", "nope")]).unwrap_err().name,
            "SONGNUAN_LISTEN"
        );
        assert_eq!(
            with(&[("SONGNUAN_SECRET", "short")]).unwrap_err().name,
            "SONGNUAN_SECRET"
        );
        assert_eq!(
            with(&[("DATABASE_URL", "mysql://x")]).unwrap_err().name,
            "DATABASE_URL"
        );
        assert_eq!(with(&[("REDIS_URL", "http://x")]).unwrap_err().name, "REDIS_URL");
        assert_eq!(
            with(&[("SONGNUAN_TOKEN_TTL_HOURS", "0")]).unwrap_err().name,
            "SONGNUAN_TOKEN_TTL_HOURS"
        );
        assert_eq!(
            with(&[("SONGNUAN_ADMIN_PASSWORD", "123")]).unwrap_err().name,
            "SONGNUAN_ADMIN_PASSWORD"
        );
    }

    #[test]
    fn sms_settings_default_to_log_and_refuse_an_incomplete_http_provider() {
        let s = with(&[]).unwrap();
        assert_eq!(s.sms.provider, SmsProviderKind::Log);
        assert_eq!(s.sms.per_number_daily, 10);
        assert!(s.sms.receipt_secret.is_none());
        let e = with(&[("SONGNUAN_SMS_PROVIDER", "http")]).unwrap_err();
        assert_eq!(e.name, "SONGNUAN_SMS_URL");
        let e = with(&[("SONGNUAN_SMS_PROVIDER", "carrier-pigeon")]).unwrap_err();
        assert_eq!(e.name, "SONGNUAN_SMS_PROVIDER");
        let e = with(&[("SONGNUAN_SMS_RECEIPT_SECRET", "short")]).unwrap_err();
        assert_eq!(e.name, "SONGNUAN_SMS_RECEIPT_SECRET");
        let e = with(&[("SONGNUAN_SMS_PER_NUMBER_DAILY", "0")]).unwrap_err();
        assert_eq!(e.name, "SONGNUAN_SMS_PER_NUMBER_DAILY");
        let s = with(&[
            ("SONGNUAN_SMS_PROVIDER", "http"),
            ("SONGNUAN_SMS_URL", "http://127.0.0.1:9/"),
            ("SONGNUAN_SMS_KEY", "the-access-key"),
            ("SONGNUAN_SMS_SIGN", "送暖"),
            ("SONGNUAN_SMS_TEMPLATE", "SMS_1"),
        ])
        .unwrap();
        assert!(
            matches!(s.sms.provider, SmsProviderKind::Http { ref url, .. } if url == "http://127.0.0.1:9")
        );
        assert!(!format!("{:?}", s.sms).contains("the-access-key"));
    }

    #[test]
    fn the_robot_post_has_a_bounded_timeout() {
        assert_eq!(with(&[]).unwrap().robot_timeout, Duration::from_secs(10));
        let s = with(&[("SONGNUAN_ROBOT_TIMEOUT_MS", "300")]).unwrap();
        assert_eq!(s.robot_timeout, Duration::from_millis(300));
        // Never unbounded, never so short that no robot could answer.
        for bad in ["0", "49", "120001", "ten"] {
            let e = with(&[("SONGNUAN_ROBOT_TIMEOUT_MS", bad)]).unwrap_err();
            assert_eq!(e.name, "SONGNUAN_ROBOT_TIMEOUT_MS", "{bad}");
        }
    }

    #[test]
    fn the_province_push_needs_a_token_and_tls_off_this_host() {
        let s = with(&[]).unwrap();
        assert!(s.province.is_none());
        assert_eq!(s.letter_delay, Duration::from_secs(60));
        let e = with(&[("SONGNUAN_PROVINCE_URL", "https://province.example/api")]).unwrap_err();
        assert_eq!(e.name, "SONGNUAN_PROVINCE_TOKEN");
        let e = with(&[
            ("SONGNUAN_PROVINCE_URL", "http://province.example/api"),
            ("SONGNUAN_PROVINCE_TOKEN", "t"),
        ])
        .unwrap_err();
        assert_eq!(e.name, "SONGNUAN_PROVINCE_URL");
        let e = with(&[
            ("SONGNUAN_PROVINCE_URL", "http://127.0.0.1.example/api"),
            ("SONGNUAN_PROVINCE_TOKEN", "t"),
        ])
        .unwrap_err();
        assert_eq!(e.name, "SONGNUAN_PROVINCE_URL");
        let s = with(&[
            ("SONGNUAN_PROVINCE_URL", "http://127.0.0.1:9500/api"),
            ("SONGNUAN_PROVINCE_TOKEN", "the-bearer-token"),
        ])
        .unwrap();
        let p = s.province.as_ref().unwrap();
        assert_eq!((p.batch, p.every), (100, Duration::from_secs(600)));
        assert!(!format!("{s:?}").contains("the-bearer-token"));
        let e = with(&[
            ("SONGNUAN_PROVINCE_URL", "https://province.example/api"),
            ("SONGNUAN_PROVINCE_TOKEN", "t"),
            ("SONGNUAN_PROVINCE_BATCH", "0"),
        ])
        .unwrap_err();
        assert_eq!(e.name, "SONGNUAN_PROVINCE_BATCH");
    }

    #[test]
    fn keys_differ_per_purpose() {
        let k = Keys::derive(b"0123456789abcdef0123456789abcdef");
        assert_ne!(k.token, k.field);
        assert_ne!(k.field, k.blind_index);
    }
}
