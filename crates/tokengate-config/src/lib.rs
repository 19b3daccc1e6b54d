//! Configure a tokengate [`Verifier`](tokengate::Verifier) from data: a TOML file, the
//! `TOKENGATE_*` environment variables, or both (the environment overrides the file), with
//! every mistake reported at once, each with its path.
//!
//! ```
//! let config = tokengate_config::Config::from_toml(r#"
//!     issuer = "https://id.example.com/"
//!     audience = "api://orders"
//!     jwks_url = "https://id.example.com/keys"
//!     cache = true
//! "#).unwrap();
//! let verifier = config.verifier().unwrap();
//! assert_eq!(verifier.issuers().collect::<Vec<_>>(), ["https://id.example.com/"]);
//!
//! let problems = tokengate_config::Config::from_toml(r#"
//!     issuer = "https://id.example.com/"
//!     audiense = "api://orders"
//!     leeway_secs = "soon"
//! "#).unwrap_err();
//! assert_eq!(problems.to_string(), "\
//! audience: TOKENGATE_AUDIENCE is not set: this API's identifier, which tokens must name in aud
//! audiense: unknown key (did you mean `audience`?)
//! leeway_secs: invalid type: string \"soon\", expected u64");
//! ```
//!
//! Layering is [figment]'s: it keeps, for every value, the source it came from, so a problem
//! names the environment variable that set it, and a secret written inline in a file (rather
//! than in a `*_file` or the environment) is refused. The names, the environment scheme and
//! every option are in `docs/configuration.md`.

mod build;
mod load;
mod model;

use std::fmt;

pub use load::{CONFIG_VARIABLE, ENV_PREFIX};
pub use model::{
    CacheConfig, ClaimPath, Config, DpopConfig, IntrospectionConfig, IssuerConfig, List,
    ResourceConfig, Secret, TokenSourcesConfig,
};

/// One configuration problem: where (`issuers[1].audiences`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub(crate) path: String,
    message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where: a key path such as `issuers[1].audiences`, or the file for a syntax error.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong (never a secret's value).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found, in the order of the configuration; `Display` writes one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// In the order of their paths (list indices compared as numbers), so a file's problems
    /// read top-down by key whatever found them.
    pub(crate) fn from_vec(mut problems: Vec<Problem>) -> Problems {
        problems.sort_by_cached_key(|problem| order_key(&problem.path));
        Problems(problems)
    }

    /// The problems.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// How many.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a returned `Problems`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A path with its list indices zero-padded: `issuers[2]` sorts before `issuers[10]`.
fn order_key(path: &str) -> String {
    let mut key = String::with_capacity(path.len() + 8);
    let mut digits = String::new();
    for c in path.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            key.push_str(&format!("{digits:0>10}"));
            digits.clear();
        }
        key.push(c);
    }
    if !digits.is_empty() {
        key.push_str(&format!("{digits:0>10}"));
    }
    key
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
