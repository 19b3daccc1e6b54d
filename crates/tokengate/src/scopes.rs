//! [`Scopes`]: a token's scopes (or roles), normalized once, matched exactly. The lowest room
//! of the claims: the requirement engine and the verified claims read it; it reads neither.

use std::fmt;

use serde::Deserialize;

/// A token's scopes, normalized from a space-delimited `scope` string and/or an `scp` array or
/// string. Membership is exact: `messages` never matches `messages:read`.
///
/// Held as one space-joined string: one allocation however many scopes a token carries.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Scopes(String);

impl Scopes {
    /// Scopes from a list (duplicates and empty strings removed, order kept).
    pub fn new<I, S>(scopes: I) -> Scopes
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Scopes::default();
        for scope in scopes {
            out.push(scope.as_ref());
        }
        out
    }

    /// Adds one scope. A value containing spaces is split: scope tokens never contain one.
    pub(crate) fn push(&mut self, scope: &str) {
        self.extend_delimited(scope);
    }

    /// Adds the space-delimited scopes of `text`. Byte loops rather than `split` and a
    /// `contains` per scope: scope strings are short, and a search call per token cost more
    /// than the tokens (~1.7k instructions for a typical token's scopes and roles,
    /// `docs/benchmarks.md`, "Own work").
    pub(crate) fn extend_delimited(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.0.reserve(text.len() + 1);
        let bytes = text.as_bytes();
        let mut start = 0;
        for (at, &byte) in bytes.iter().enumerate() {
            if byte == b' ' {
                self.add(&text[start..at]);
                start = at + 1;
            }
        }
        self.add(&text[start..]);
    }

    /// Adds `scope` (no spaces) unless it is empty or present.
    fn add(&mut self, scope: &str) {
        if scope.is_empty() || self.has(scope) {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(scope);
    }

    /// Whether the non-empty `scope`, which has no spaces, is one of the tokens.
    fn has(&self, scope: &str) -> bool {
        let (have, want) = (self.0.as_bytes(), scope.as_bytes());
        let mut start = 0;
        while let Some(token) = have.get(start..) {
            let end = token.iter().position(|&b| b == b' ').unwrap_or(token.len());
            if token[..end] == *want {
                return true;
            }
            start += end + 1;
        }
        false
    }

    /// Whether `scope` is present, compared exactly.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        !scope.is_empty() && !scope.contains(' ') && self.has(scope)
    }

    /// The scopes, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|s| !s.is_empty())
    }

    /// How many scopes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes joined by single spaces (the `scope` claim's format).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Scopes {
    /// Prints the count only: scopes are claims.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes(<{} redacted>)", self.len())
    }
}

impl<'de> Deserialize<'de> for Scopes {
    /// From a space-delimited string or an array of strings.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut scopes = Scopes::default();
        match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(text) => scopes.extend_delimited(&text),
            OneOrMany::Many(list) => list.iter().for_each(|s| scopes.push(s)),
        }
        Ok(scopes)
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    /// One string.
    One(String),
    /// An array of strings.
    Many(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Scopes` against a plain model (split on spaces, drop empties and repeats, keep order),
    /// over strings of a few letters and spaces, where repeats and prefixes are common.
    #[test]
    fn scopes_match_a_plain_model() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let mut runner = TestRunner::new_with_rng(
            Config::with_cases(2_000),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[29; 32]),
        );
        let parts = proptest::collection::vec("[ab ]{0,6}", 0..5);
        runner
            .run(&(parts, "[ab ]{0,4}"), |(parts, probe)| {
                let mut model: Vec<String> = Vec::new();
                for word in parts.iter().flat_map(|p| p.split(' ')) {
                    if !word.is_empty() && !model.iter().any(|m| m == word) {
                        model.push(word.to_owned());
                    }
                }
                let mut scopes = Scopes::default();
                for (i, part) in parts.iter().enumerate() {
                    if i % 2 == 0 {
                        scopes.extend_delimited(part);
                    } else {
                        scopes.push(part);
                    }
                }
                prop_assert_eq!(scopes.as_str(), model.join(" "));
                prop_assert_eq!(scopes.iter().collect::<Vec<_>>(), model.clone());
                prop_assert_eq!(scopes.contains(&probe), model.contains(&probe));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn scopes_deserialize_from_string_or_array_and_debug_redacts() {
        let s: Scopes = serde_json::from_str(r#""a  b a""#).unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), ["a", "b"]);
        let s: Scopes = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(format!("{s:?}"), "Scopes(<2 redacted>)");
    }
}
