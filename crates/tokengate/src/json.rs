//! Strict JSON for untrusted token segments.
//!
//! serde_json keeps the last of duplicate members; two parsers that disagree on which one wins
//! are a classic way to smuggle a claim past a check. Everything here refuses duplicate members
//! at every depth, takes escaped member names (`"\u0061lg"`) as their plain spelling, and reads
//! registered claims loosely typed so that validation, not parsing, decides what a wrong type
//! means.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A member name, borrowed from the input unless it contained escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// The names seen so far in one object.
#[derive(Default)]
struct Seen<'de>(Vec<Cow<'de, str>>);

impl<'de> Seen<'de> {
    fn insert<E: de::Error>(&mut self, name: &Cow<'de, str>) -> Result<(), E> {
        if self.0.iter().any(|seen| seen == name) {
            return Err(E::custom("duplicate member"));
        }
        self.0.push(name.clone());
        Ok(())
    }
}

/// Any JSON value, walked to refuse duplicate members at every depth, then dropped.
pub(crate) struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut seen = Seen::default();
        while let Some(Name(name)) = map.next_key()? {
            seen.insert(&name)?;
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// A claim or header value read without committing to a type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Loose<'de> {
    /// A string.
    Str(Cow<'de, str>),
    /// A number (integers are widened to `f64`).
    Num(f64),
    /// An array whose elements are all strings (possibly empty).
    Strings(Vec<Cow<'de, str>>),
    /// Anything else: null, a boolean, an object, a mixed array.
    Other,
}

impl<'de> de::Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Num(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element::<Loose<'de>>()? {
            match item {
                Loose::Str(s) if all_strings => strings.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings { Loose::Strings(strings) } else { Loose::Other })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        CheckedVisitor.visit_map(map)?;
        Ok(Loose::Other)
    }
}

/// Reads the value at `path` inside a JSON value (object members by name), checking the whole
/// value for duplicate members on the way.
pub(crate) struct AtPath<'p>(pub(crate) &'p [String]);

impl<'de> DeserializeSeed<'de> for AtPath<'_> {
    type Value = Option<Loose<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match self.0 {
            [] => <Loose<'de> as de::Deserialize<'de>>::deserialize(deserializer).map(Some),
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for AtPath<'_> {
    type Value = Option<Loose<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        CheckedVisitor.visit_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (head, rest) = self.0.split_first().expect("AtPath visits only with a non-empty path");
        let mut seen = Seen::default();
        let mut found = None;
        while let Some(Name(name)) = map.next_key()? {
            seen.insert(&name)?;
            if name == head.as_str() {
                found = map.next_value_seed(AtPath(rest))?;
            } else {
                map.next_value::<Checked>()?;
            }
        }
        Ok(found)
    }
}

/// The protected header, read strictly.
#[derive(Default)]
pub(crate) struct HeaderView<'de> {
    pub(crate) alg: Option<Loose<'de>>,
    pub(crate) kid: Option<Loose<'de>>,
    pub(crate) typ: Option<Loose<'de>>,
    pub(crate) crit: bool,
    pub(crate) b64: bool,
}

impl<'de> de::Deserialize<'de> for HeaderView<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = HeaderView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut header = HeaderView::default();
                let mut seen = Seen::default();
                while let Some(Name(name)) = map.next_key()? {
                    seen.insert(&name)?;
                    match &*name {
                        "alg" => header.alg = Some(map.next_value()?),
                        "kid" => header.kid = Some(map.next_value()?),
                        "typ" => header.typ = Some(map.next_value()?),
                        "crit" => {
                            header.crit = true;
                            map.next_value::<Checked>()?;
                        }
                        "b64" => {
                            header.b64 = true;
                            map.next_value::<Checked>()?;
                        }
                        // `jku`, `x5u`, `x5c`, `jwk` and anything else: never used.
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// The registered claims of a payload, plus the members the verifier's issuers asked for,
/// read in one pass over the payload.
#[derive(Default)]
pub(crate) struct ClaimsView<'de> {
    pub(crate) iss: Option<Loose<'de>>,
    pub(crate) sub: Option<Loose<'de>>,
    pub(crate) aud: Option<Loose<'de>>,
    pub(crate) exp: Option<Loose<'de>>,
    pub(crate) nbf: Option<Loose<'de>>,
    pub(crate) iat: Option<Loose<'de>>,
    pub(crate) jti: Option<Loose<'de>>,
    pub(crate) client_id: Option<Loose<'de>>,
    pub(crate) scope: Option<Loose<'de>>,
    pub(crate) scp: Option<Loose<'de>>,
    /// Other members named in `ClaimsSeed::wanted`, kept raw (already checked for duplicates).
    pub(crate) wanted: Vec<(Cow<'de, str>, &'de RawValue)>,
}

impl<'de> ClaimsView<'de> {
    /// Whether the payload has a member called `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        let registered = match name {
            "iss" => &self.iss,
            "sub" => &self.sub,
            "aud" => &self.aud,
            "exp" => &self.exp,
            "nbf" => &self.nbf,
            "iat" => &self.iat,
            "jti" => &self.jti,
            "client_id" => &self.client_id,
            "scope" => &self.scope,
            "scp" => &self.scp,
            _ => return self.wanted.iter().any(|(n, _)| n == name),
        };
        registered.is_some()
    }

    /// The value at `path` (first segment a top-level member), if present.
    pub(crate) fn at_path(&self, path: &[String]) -> Option<Loose<'de>> {
        let (head, rest) = path.split_first()?;
        let registered = match head.as_str() {
            "scope" => self.scope.as_ref(),
            "scp" => self.scp.as_ref(),
            "aud" => self.aud.as_ref(),
            _ => None,
        };
        if let Some(value) = registered {
            return if rest.is_empty() { Some(value.clone()) } else { None };
        }
        let (_, raw) = self.wanted.iter().find(|(n, _)| n == head.as_str())?;
        let mut de = serde_json::Deserializer::from_str(raw.get());
        AtPath(rest).deserialize(&mut de).ok().flatten()
    }
}

/// Reads a [`ClaimsView`], keeping raw the extra top-level members named in `wanted`.
pub(crate) struct ClaimsSeed<'w>(pub(crate) &'w [Box<str>]);

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = ClaimsView<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = ClaimsView<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut view = ClaimsView::default();
        let mut seen = Seen::default();
        while let Some(Name(name)) = map.next_key()? {
            seen.insert(&name)?;
            let slot = match &*name {
                "iss" => &mut view.iss,
                "sub" => &mut view.sub,
                "aud" => &mut view.aud,
                "exp" => &mut view.exp,
                "nbf" => &mut view.nbf,
                "iat" => &mut view.iat,
                "jti" => &mut view.jti,
                "client_id" => &mut view.client_id,
                "scope" => &mut view.scope,
                "scp" => &mut view.scp,
                other if self.0.iter().any(|w| &**w == other) => {
                    let raw: &'de RawValue = map.next_value()?;
                    serde_json::from_str::<Checked>(raw.get()).map_err(de::Error::custom)?;
                    view.wanted.push((name, raw));
                    continue;
                }
                _ => {
                    map.next_value::<Checked>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(view)
    }
}

/// Parses `bytes` as one JSON value with `seed`, refusing trailing data.
pub(crate) fn parse_seed<'de, S: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Whether `bytes` is one JSON value without duplicate members anywhere.
pub(crate) fn is_strict_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Checked>(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        assert!(is_strict_json(br#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#));
        assert!(!is_strict_json(br#"{"a":1,"a":1}"#));
        assert!(!is_strict_json(br#"{"a":{"c":1,"c":2}}"#));
        assert!(!is_strict_json(br#"{"a":[{"c":1,"c":2}]}"#));
        assert!(!is_strict_json(br#"{"alg":1,"\u0061lg":2}"#), "escaped spelling is the same name");
    }

    #[test]
    fn header_reads_escaped_names_and_flags_crit_b64() {
        let h: HeaderView<'_> =
            serde_json::from_slice(br#"{"\u0061lg":"RS256","crit":["exp"],"b64":false}"#).unwrap();
        assert_eq!(h.alg, Some(Loose::Str("RS256".into())));
        assert!(h.crit && h.b64);
        assert!(serde_json::from_slice::<HeaderView<'_>>(br#"["alg"]"#).is_err());
        assert!(serde_json::from_slice::<HeaderView<'_>>(br#"{"alg":"a","alg":"b"}"#).is_err());
    }

    #[test]
    fn claims_view_is_loose_and_keeps_wanted_members() {
        let wanted: Vec<Box<str>> = vec!["realm_access".into(), "tenant".into()];
        let bytes = br#"{"exp":"1","aud":["a","b"],"iss":["x"],"realm_access":{"roles":["r1","r2"]},"tenant":7}"#;
        let view = parse_seed(bytes, ClaimsSeed(&wanted)).unwrap();
        assert_eq!(view.exp, Some(Loose::Str("1".into())));
        assert_eq!(view.aud, Some(Loose::Strings(vec!["a".into(), "b".into()])));
        assert_eq!(view.iss, Some(Loose::Strings(vec!["x".into()])));
        assert!(view.has("tenant") && view.has("exp") && !view.has("sub"));
        let path = ["realm_access".to_owned(), "roles".to_owned()];
        assert_eq!(view.at_path(&path), Some(Loose::Strings(vec!["r1".into(), "r2".into()])));
        assert_eq!(view.at_path(&["tenant".to_owned(), "x".to_owned()]), None);
    }

    #[test]
    fn duplicates_inside_wanted_members_are_refused() {
        let wanted: Vec<Box<str>> = vec!["realm_access".into()];
        let bytes = br#"{"realm_access":{"roles":["a"],"roles":["admin"]}}"#;
        assert!(parse_seed(bytes, ClaimsSeed(&wanted)).is_err());
        assert!(parse_seed(br#"{"x":{"y":1,"y":2}}"#, ClaimsSeed(&[])).is_err());
        assert!(parse_seed(br#"{"a":1} {"b":2}"#, ClaimsSeed(&[])).is_err(), "trailing data");
        assert!(parse_seed(br#"[1]"#, ClaimsSeed(&[])).is_err(), "not an object");
    }
}
