//! Loading: a TOML file and the environment, layered with figment, read into the model with
//! every problem collected (serde stops at the first; we record it, drop the offending value
//! and read again).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde_json::Value;
use serde_path_to_error::{Path as ErrorPath, Segment};

use crate::model::Config;
use crate::{Problem, Problems};

/// The environment variables' prefix: `TOKENGATE_ISSUER` sets `issuer`, and `__` nests
/// (`TOKENGATE_CACHE__MAX_ENTRIES` sets `cache.max_entries`).
pub const ENV_PREFIX: &str = "TOKENGATE_";

/// The variable naming the configuration file [`Config::load`] reads, if set.
pub const CONFIG_VARIABLE: &str = "TOKENGATE_CONFIG";

/// The top-level keys the environment may set. Other `TOKENGATE_*` variables belong to the
/// application (`TOKENGATE_ADDR`, `TOKENGATE_CONFIG`, …) and are left alone; `issuers` (a list
/// of tables) is written in the file only.
const ENV_KEYS: &[&str] = &[
    "issuer",
    "audience",
    "preset",
    "tenants",
    "any_tenant_claim",
    "jwks_url",
    "jwks_file",
    "algorithms",
    "rfc9068",
    "introspection_url",
    "introspection_client_id",
    "introspection_client_secret",
    "introspection_client_secret_file",
    "leeway_secs",
    "connection_recheck_secs",
    "realm",
    "max_token_bytes",
    "fetch_timeout_ms",
    "kid_refresh_cooldown_secs",
    "keys_unavailable_as_unauthorized",
    "answer_body",
    "token_sources",
    "cache",
    "resource",
    "dpop",
    "trusted_proxies",
    "client_certificate_header",
    "decryption_keys",
    "decryption_key_file",
    "content_encryptions",
    "redis_url",
    "redis_url_file",
    "redis_timeout_ms",
    "redis_prefix",
    "insecure_revocation_fail_open",
    "api_keys",
];

/// Secrets a file may not hold inline: they go in a `*_file` or the environment.
const INLINE_SECRETS: &[&str] = &["introspection_client_secret", "client_secret"];

/// Serde's error for one value cannot cascade forever: a configuration has far fewer keys.
const MAX_PROBLEMS: usize = 100;

impl Config {
    /// The service's configuration: the file named by `TOKENGATE_CONFIG` when it is set, then
    /// the `TOKENGATE_*` environment variables over it. Without the variable, the environment
    /// alone (the examples' variables are this scheme's simple case).
    ///
    /// # Errors
    /// Every problem found, each with its path.
    pub fn load() -> Result<Config, Problems> {
        Config::load_with_defaults(&[])
    }

    /// As [`load`](Config::load), over `defaults` (key, value) that the file and the
    /// environment override: a development issuer, or an application's own defaults.
    ///
    /// # Errors
    /// Every problem found, each with its path.
    pub fn load_with_defaults(defaults: &[(&str, &str)]) -> Result<Config, Problems> {
        let file = std::env::var_os(CONFIG_VARIABLE)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from);
        Config::layered(defaults, file.as_deref(), true)
    }

    /// `path`, then the `TOKENGATE_*` environment variables over it.
    ///
    /// # Errors
    /// Every problem found, each with its path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, Problems> {
        Config::layered(&[], Some(path.as_ref()), true)
    }

    /// `path` alone, the environment ignored.
    ///
    /// # Errors
    /// Every problem found, each with its path.
    pub fn from_file_only(path: impl AsRef<Path>) -> Result<Config, Problems> {
        Config::layered(&[], Some(path.as_ref()), false)
    }

    /// A TOML document (no file, no environment): for tests and embedded defaults.
    ///
    /// # Errors
    /// Every problem found, each with its path.
    pub fn from_toml(toml: &str) -> Result<Config, Problems> {
        let figment = Figment::from(Toml::string(toml));
        let inline = figment.extract::<Value>().ok();
        read(&figment, inline.as_ref())
    }

    fn layered(
        defaults: &[(&str, &str)],
        file: Option<&Path>,
        env: bool,
    ) -> Result<Config, Problems> {
        let mut figment = Figment::new();
        for (key, value) in defaults {
            figment = figment.merge((*key, *value));
        }
        let mut in_file = None;
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Problems::from_vec(vec![Problem::new(
                    path.display().to_string(),
                    "no such file",
                )]));
            }
            let layer = Figment::from(Toml::file(path));
            in_file = Some(layer.extract::<Value>().map_err(|error| {
                Problems::from_vec(vec![Problem::new(
                    path.display().to_string(),
                    syntax(&error),
                )])
            })?);
            figment = figment.merge(Toml::file(path));
        }
        if env {
            figment = figment.merge(environment()).merge(SecretVariables);
        }
        read(&figment, in_file.as_ref())
    }
}

/// Variables whose values are secrets: read as the exact text they hold (figment's `Env`
/// would read `93847561029384756` as a number, `0123` as 123, `true` as a boolean — and a
/// serde error would then print the value).
const SECRET_VARIABLES: &[&str] = &["introspection_client_secret", "redis_url"];

/// The `TOKENGATE_*` variables this crate reads, secrets aside ([`SecretVariables`]).
fn environment() -> Env {
    Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
        let key = key.as_str().to_ascii_lowercase();
        let top = key.split('.').next().unwrap_or_default();
        ENV_KEYS.contains(&top) && !SECRET_VARIABLES.contains(&key.as_str())
    })
}

/// The secret `TOKENGATE_*` variables, each as a string whatever it looks like.
struct SecretVariables;

impl figment::Provider for SecretVariables {
    fn metadata(&self) -> figment::Metadata {
        // The same name as `Env`'s, so problems name the variable, not a provider.
        figment::Metadata::named(format!("`{ENV_PREFIX}` environment variable(s)"))
            .interpolater(|_, keys| format!("{ENV_PREFIX}{}", keys.join("__").to_uppercase()))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (key, value) in Env::prefixed(ENV_PREFIX).iter() {
            let key = key.as_str().to_ascii_lowercase();
            if SECRET_VARIABLES.contains(&key.as_str()) {
                dict.insert(key, figment::value::Value::from(value));
            }
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// Reads the merged layers into the model, collecting every problem. `in_file` is the file's
/// own content, to refuse inline secrets.
fn read(figment: &Figment, in_file: Option<&Value>) -> Result<Config, Problems> {
    let mut value = figment
        .extract::<Value>()
        .map_err(|error| Problems::from_vec(vec![Problem::new("", syntax(&error))]))?;
    drop_empty(&mut value);
    let mut problems = Vec::new();
    if let Some(in_file) = in_file {
        inline_secrets(in_file, "", &mut problems);
    }
    let mut config = Config::default();
    while problems.len() < MAX_PROBLEMS {
        match serde_path_to_error::deserialize::<_, Config>(&value) {
            Ok(read) => {
                config = read;
                break;
            }
            Err(error) => {
                let path = error.path().clone();
                let message = error.inner().to_string();
                let (at, message, unknown) = describe(&path, &message);
                problems.push(Problem::new(at, message));
                if !drop_value(&mut value, &path, unknown.as_deref()) {
                    break;
                }
            }
        }
    }
    config.validate(&mut problems);
    for problem in &mut problems {
        problem.path = name_source(figment, std::mem::take(&mut problem.path));
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Problems::from_vec(problems))
    }
}

/// An empty string is no value (`TOKENGATE_JWKS_URL=` unsets it), as the examples always read
/// their variables.
fn drop_empty(value: &mut Value) {
    match value {
        Value::Object(table) => {
            table.retain(|_, inner| inner.as_str().is_none_or(|s| !s.trim().is_empty()));
            table.values_mut().for_each(drop_empty);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

/// A figment error's message without figment's decorations.
fn syntax(error: &figment::Error) -> String {
    error.to_string()
}

/// Where and what, in our words: an unknown key names itself and the closest known key.
fn describe(path: &ErrorPath, message: &str) -> (String, String, Option<String>) {
    let mut at = render(path);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        if !at.ends_with(name) {
            at = if at.is_empty() || at == "?" {
                name.to_owned()
            } else {
                format!("{at}.{name}")
            };
        }
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let nested = at.contains('.') || at.contains('[');
        let message = match closest(name, &known) {
            Some(near) => format!("unknown key (did you mean `{near}`?)"),
            None if nested && (ENV_KEYS.contains(&name) || name == "issuers") => format!(
                "unknown key here; `{name}` is a top-level key (TOML puts every key after a \
                 [table] header in that table: write top-level keys first)"
            ),
            None => "unknown key".to_owned(),
        };
        return (at, message, Some(name.to_owned()));
    }
    (at, message.to_owned(), None)
}

/// `issuers[1].audiences`.
fn render(path: &ErrorPath) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Adds the environment variable that set a value, when the environment did.
fn name_source(figment: &Figment, at: String) -> String {
    let key = at.split(['.', '[']).next().unwrap_or_default();
    let from_env = figment
        .find_metadata(key)
        .is_some_and(|metadata| metadata.name.contains("environment"));
    if from_env && !key.is_empty() {
        let variable = format!("{ENV_PREFIX}{}", at.replace('.', "__")).to_ascii_uppercase();
        format!("{at} ({variable})")
    } else {
        at
    }
}

/// Removes the value an error was about, so reading again finds the next problem. False when
/// nothing could be removed (the loop stops).
fn drop_value(root: &mut Value, path: &ErrorPath, unknown: Option<&str>) -> bool {
    let segments: Vec<&Segment> = path.iter().collect();
    // An unknown key: remove it from the table the path leads to (or that holds it).
    if let Some(name) = unknown {
        let table_path = match segments.last() {
            Some(Segment::Map { key }) if key == name => &segments[..segments.len() - 1],
            _ => &segments[..],
        };
        return match walk(root, table_path) {
            Some(Value::Object(table)) => table.remove(name).is_some(),
            _ => false,
        };
    }
    // A bad value: remove its key; an element of a list takes the whole list with it.
    let mut cut = segments.len();
    while cut > 0 && !matches!(segments[cut - 1], Segment::Map { .. }) {
        cut -= 1;
    }
    if cut == 0 {
        return false;
    }
    let Segment::Map { key } = segments[cut - 1] else {
        return false;
    };
    match walk(root, &segments[..cut - 1]) {
        Some(Value::Object(table)) => table.remove(key.as_str()).is_some(),
        _ => false,
    }
}

fn walk<'v>(mut value: &'v mut Value, segments: &[&Segment]) -> Option<&'v mut Value> {
    for segment in segments {
        value = match (segment, value) {
            (Segment::Map { key }, Value::Object(table)) => table.get_mut(key.as_str())?,
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Refuses secrets written inline in the file (their `*_file` form, or the environment, is
/// where they belong), and a Redis URL carrying a password.
fn inline_secrets(value: &Value, at: &str, problems: &mut Vec<Problem>) {
    match value {
        Value::Object(table) => {
            for (key, inner) in table {
                let here = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                if INLINE_SECRETS.contains(&key.as_str()) {
                    problems.push(Problem::new(
                        &here,
                        format!(
                            "a secret written in the file: put it in a file named by `{key}_file`, \
                             or in the environment"
                        ),
                    ));
                } else if key == "redis_url" && inner.as_str().is_some_and(url_has_password) {
                    problems.push(Problem::new(
                        &here,
                        "a password written in the file: put the URL in a file named by \
                         `redis_url_file`, or in the environment",
                    ));
                } else {
                    inline_secrets(inner, &here, problems);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                inline_secrets(item, &format!("{at}[{index}]"), problems);
            }
        }
        _ => {}
    }
}

fn url_has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .is_some_and(|(userinfo, _)| !userinfo.is_empty())
}

/// The known name closest to `name` (at most two edits away), for "did you mean".
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (distance(name, candidate), *candidate))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance (names are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("audiense", "audience"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(closest("isuer", &["issuer", "realm"]), Some("issuer"));
        assert_eq!(closest("zzzz", &["issuer", "realm"]), None);
    }

    #[test]
    fn passwords_in_urls() {
        assert!(url_has_password("redis://:secret@host:6379/0"));
        assert!(url_has_password("rediss://user:secret@host/0"));
        assert!(!url_has_password("redis://127.0.0.1:6379/0"));
    }
}
