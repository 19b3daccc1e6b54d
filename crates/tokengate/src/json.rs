//! Strict JSON for untrusted token segments and documents.
//!
//! serde_json keeps the last of duplicate members; two parsers that disagree on which one wins
//! are a classic way to smuggle a claim past a check. Everything here refuses duplicate members
//! at every depth, takes escaped member names (`"\u0061lg"`) as their plain spelling, and reads
//! registered claims loosely typed so that validation, not parsing, decides what a wrong type
//! means. Every check is linear in the input (see `docs/architecture.md`, "Strict JSON").
//!
//! The caller's claims type is *not* read here: it is deserialized with plain serde_json after
//! the signature and the registered claims have been checked.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smallvec::SmallVec;

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

/// Objects with up to this many members are checked by scanning; larger ones switch to a hash
/// set, so the check stays linear however many members an attacker sends.
const SCAN_LIMIT: usize = 16;

/// The names seen so far in one object.
#[derive(Default)]
struct Seen<'de> {
    few: SmallVec<[Cow<'de, str>; SCAN_LIMIT]>,
    /// Every name, once the object outgrows `few`. aHash with keys drawn at random per set:
    /// built for HashDoS resistance (no attacker-chosen collisions without the keys) and, for
    /// short names, about twice as fast as std's SipHash, which took a quarter of a 16 KB
    /// token's verification (`docs/benchmarks.md`, "Token size").
    many: Option<HashSet<Cow<'de, str>, ahash::RandomState>>,
}

impl<'de> Seen<'de> {
    fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let fresh = match &mut self.many {
            Some(many) => many.insert(name),
            None if self.few.len() < SCAN_LIMIT => {
                let fresh = !self.few.contains(&name);
                self.few.push(name);
                fresh
            }
            None => {
                let mut many =
                    HashSet::with_capacity_and_hasher(4 * SCAN_LIMIT, ahash::RandomState::new());
                many.extend(self.few.drain(..));
                let fresh = many.insert(name);
                self.many = Some(many);
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom("duplicate member"))
        }
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
            seen.insert(name)?;
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
    /// A number, with the kind JSON gave it.
    Num(Number),
    /// An array whose elements are all strings (possibly empty).
    Strings(Vec<Cow<'de, str>>),
    /// `true` or `false` (introspection's `active`).
    Bool(bool),
    /// Anything else: null, a boolean, an object, a mixed array.
    Other,
}

/// A JSON number as parsed: unsigned, negative or fractional.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    U(u64),
    I(i64),
    F(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::U(n) => n as f64,
            Number::I(n) => n as f64,
            Number::F(n) => n,
        }
    }
}

impl Loose<'_> {
    /// The same value, owning its strings.
    pub(crate) fn into_owned(self) -> Loose<'static> {
        match self {
            Loose::Str(s) => Loose::Str(Cow::Owned(s.into_owned())),
            Loose::Num(n) => Loose::Num(n),
            Loose::Strings(list) => Loose::Strings(
                list.into_iter()
                    .map(|s| Cow::Owned(s.into_owned()))
                    .collect(),
            ),
            Loose::Bool(b) => Loose::Bool(b),
            Loose::Other => Loose::Other,
        }
    }
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
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Num(Number::I(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Num(Number::U(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Num(Number::F(v)))
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
        Ok(if all_strings {
            Loose::Strings(strings)
        } else {
            Loose::Other
        })
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
        let (head, rest) = self
            .0
            .split_first()
            .expect("AtPath visits only with a non-empty path");
        let mut seen = Seen::default();
        let mut found = None;
        while let Some(Name(name)) = map.next_key()? {
            if name == head.as_str() {
                found = map.next_value_seed(AtPath(rest))?;
            } else {
                map.next_value::<Checked>()?;
            }
            seen.insert(name)?;
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
    pub(crate) cty: Option<Loose<'de>>,
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
                    match &*name {
                        "alg" => header.alg = Some(map.next_value()?),
                        "kid" => header.kid = Some(map.next_value()?),
                        "typ" => header.typ = Some(map.next_value()?),
                        "cty" => header.cty = Some(map.next_value()?),
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
                    seen.insert(name)?;
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// What the verifier needs from one extra top-level member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Want {
    /// Only whether it is present (a required claim).
    Presence,
    /// Its value (a one-segment roles or scope path).
    Value,
    /// Its raw text, to walk a nested path (e.g. `realm_access.roles`).
    Raw,
}

/// The registered claims of a payload, plus the members the verifier's issuers asked for.
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
    /// Names of the wanted members that are present.
    present: SmallVec<[Cow<'de, str>; 2]>,
    /// Wanted members read as values.
    values: SmallVec<[(Cow<'de, str>, Loose<'de>); 1]>,
    /// Wanted members kept as raw JSON text (already checked for duplicates).
    raws: SmallVec<[(Cow<'de, str>, Cow<'de, str>); 1]>,
}

impl<'de> ClaimsView<'de> {
    fn slot(&mut self, name: &str) -> Option<&mut Option<Loose<'de>>> {
        Some(match name {
            "iss" => &mut self.iss,
            "sub" => &mut self.sub,
            "aud" => &mut self.aud,
            "exp" => &mut self.exp,
            "nbf" => &mut self.nbf,
            "iat" => &mut self.iat,
            "jti" => &mut self.jti,
            "client_id" => &mut self.client_id,
            "scope" => &mut self.scope,
            "scp" => &mut self.scp,
            _ => return None,
        })
    }

    fn registered(&self, name: &str) -> Option<&Option<Loose<'de>>> {
        Some(match name {
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
            _ => return None,
        })
    }

    /// Whether the payload has a member called `name` (registered, or one of `wanted`).
    pub(crate) fn has(&self, name: &str) -> bool {
        match self.registered(name) {
            Some(value) => value.is_some(),
            None => self.present.iter().any(|n| n == name),
        }
    }

    /// The raw JSON text of a member wanted as [`Want::Raw`], if present.
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.raws
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, raw)| &**raw)
    }

    /// The value at `path` (first segment a top-level member), if present.
    pub(crate) fn at_path(&self, path: &[String]) -> Option<Loose<'de>> {
        let (head, rest) = path.split_first()?;
        if let Some(value) = self.registered(head) {
            return if rest.is_empty() { value.clone() } else { None };
        }
        if rest.is_empty() {
            return self
                .values
                .iter()
                .find(|(n, _)| n == head.as_str())
                .map(|(_, v)| v.clone());
        }
        let (_, raw) = self.raws.iter().find(|(n, _)| n == head.as_str())?;
        let mut de = serde_json::Deserializer::from_str(raw);
        // The raw text was checked when the payload was parsed; a path into it cannot fail
        // other than by not being there.
        let found = AtPath(rest).deserialize(&mut de).ok().flatten();
        found.map(Loose::into_owned)
    }

    /// The same view, owning its strings (for verification that resumes after a key fetch).
    pub(crate) fn into_owned(self) -> ClaimsView<'static> {
        let owned = |v: Option<Loose<'de>>| v.map(Loose::into_owned);
        let name = |n: Cow<'de, str>| Cow::Owned(n.into_owned());
        ClaimsView {
            iss: owned(self.iss),
            sub: owned(self.sub),
            aud: owned(self.aud),
            exp: owned(self.exp),
            nbf: owned(self.nbf),
            iat: owned(self.iat),
            jti: owned(self.jti),
            client_id: owned(self.client_id),
            scope: owned(self.scope),
            scp: owned(self.scp),
            present: self.present.into_iter().map(name).collect(),
            values: self
                .values
                .into_iter()
                .map(|(n, v)| (name(n), v.into_owned()))
                .collect(),
            raws: self
                .raws
                .into_iter()
                .map(|(n, r)| (name(n), name(r)))
                .collect(),
        }
    }
}

/// Reads a payload object into a [`ClaimsView`], walking every member to refuse duplicates.
struct ViewSeed<'w> {
    wanted: &'w [(Box<str>, Want)],
}

impl<'de> DeserializeSeed<'de> for ViewSeed<'_> {
    type Value = ClaimsView<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ViewSeed<'_> {
    type Value = ClaimsView<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut view = ClaimsView::default();
        let mut seen = Seen::default();
        while let Some(Name(name)) = map.next_key()? {
            if let Some(slot) = view.slot(&name) {
                *slot = Some(map.next_value()?);
            } else {
                match self.wanted.iter().find(|(w, _)| **w == *name) {
                    None => {
                        map.next_value::<Checked>()?;
                    }
                    Some((_, Want::Presence)) => {
                        map.next_value::<Checked>()?;
                        view.present.push(name.clone());
                    }
                    Some((_, Want::Value)) => {
                        let value: Loose<'de> = map.next_value()?;
                        view.present.push(name.clone());
                        view.values.push((name.clone(), value));
                    }
                    Some((_, Want::Raw)) => {
                        let raw: &'de RawValue = map.next_value()?;
                        if !is_strict_json(raw.get().as_bytes()) {
                            return Err(de::Error::custom("duplicate member"));
                        }
                        view.present.push(name.clone());
                        view.raws.push((name.clone(), Cow::Borrowed(raw.get())));
                    }
                }
            }
            seen.insert(name)?;
        }
        Ok(view)
    }
}

/// Parses a payload: one JSON object, no duplicate members at any depth, nothing after it.
///
/// # Errors
/// When the payload is not such an object.
pub(crate) fn parse_view<'de>(
    bytes: &'de [u8],
    wanted: &[(Box<str>, Want)],
) -> Result<ClaimsView<'de>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let view = ViewSeed { wanted }.deserialize(&mut de)?;
    de.end()?;
    Ok(view)
}

/// The value at `path` (object members by name) in a payload already checked strict.
pub(crate) fn value_at(payload: &[u8], path: &[&str]) -> Option<serde_json::Value> {
    let mut value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    for name in path {
        value = match value {
            serde_json::Value::Object(mut members) => members.remove(*name)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Whether `bytes` is one JSON value without duplicate members anywhere.
pub(crate) fn is_strict_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Checked>(bytes).is_ok()
}

/// Deserializes strict JSON: refused when any object anywhere repeats a member, otherwise
/// exactly what `serde_json::from_slice` gives.
#[cfg_attr(not(feature = "remote"), allow(dead_code))] // discovery documents
pub(crate) fn from_strict_slice<'a, T: de::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, serde_json::Error> {
    serde_json::from_slice::<Checked>(bytes)?;
    serde_json::from_slice(bytes)
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
        assert!(
            !is_strict_json(br#"{"alg":1,"\u0061lg":2}"#),
            "escaped spelling is the same name"
        );
    }

    #[test]
    fn duplicates_are_found_in_large_objects_too() {
        // Past the scan limit the check switches to a hash set: a duplicate at either end of a
        // long object, and names sharing a long prefix, are still found.
        let names: Vec<String> = (0..200)
            .map(|i| format!("https://example.com/claims/{i:04}"))
            .collect();
        let object = |extra: &str| {
            let members: Vec<String> = names.iter().map(|n| format!("\"{n}\":0")).collect();
            format!("{{{}{extra}}}", members.join(","))
        };
        assert!(is_strict_json(object("").as_bytes()));
        assert!(!is_strict_json(
            object(",\"https://example.com/claims/0000\":1").as_bytes()
        ));
        assert!(!is_strict_json(
            object(",\"https://example.com/claims/0199\":1").as_bytes()
        ));
        assert!(!is_strict_json(
            object(",\"https://example.com/claims/00\\u00310\":1").as_bytes()
        ));
        let doubled = object(",\"sub\":\"a\",\"sub\":\"b\"");
        assert!(parse_view(doubled.as_bytes(), &[]).is_err());
    }

    #[test]
    fn header_reads_escaped_names_and_flags_crit_b64_cty() {
        let h: HeaderView<'_> = serde_json::from_slice(
            br#"{"\u0061lg":"RS256","crit":["exp"],"b64":false,"cty":"JWT"}"#,
        )
        .unwrap();
        assert_eq!(h.alg, Some(Loose::Str("RS256".into())));
        assert_eq!(h.cty, Some(Loose::Str("JWT".into())));
        assert!(h.crit && h.b64);
        assert!(serde_json::from_slice::<HeaderView<'_>>(br#"["alg"]"#).is_err());
        assert!(serde_json::from_slice::<HeaderView<'_>>(br#"{"alg":"a","alg":"b"}"#).is_err());
    }

    #[test]
    fn claims_view_is_loose_and_keeps_wanted_members() {
        let wanted = vec![
            ("realm_access".into(), Want::Raw),
            ("tenant".into(), Want::Presence),
            ("roles".into(), Want::Value),
        ];
        let bytes = br#"{"exp":"1","aud":["a","b"],"iss":["x"],"realm_access":{"roles":["r1","r2"]},"tenant":7,"roles":["r"]}"#;
        let view = parse_view(bytes, &wanted).unwrap();
        assert_eq!(view.exp, Some(Loose::Str("1".into())));
        assert_eq!(view.aud, Some(Loose::Strings(vec!["a".into(), "b".into()])));
        assert_eq!(view.iss, Some(Loose::Strings(vec!["x".into()])));
        assert!(view.has("tenant") && view.has("exp") && !view.has("sub"));
        let path = ["realm_access".to_owned(), "roles".to_owned()];
        assert_eq!(
            view.at_path(&path),
            Some(Loose::Strings(vec!["r1".into(), "r2".into()]))
        );
        assert_eq!(view.at_path(&["tenant".to_owned(), "x".to_owned()]), None);
        let owned = view.into_owned();
        assert_eq!(
            owned.at_path(&["roles".to_owned()]),
            Some(Loose::Strings(vec!["r".into()]))
        );
        assert_eq!(
            owned.at_path(&path),
            Some(Loose::Strings(vec!["r1".into(), "r2".into()]))
        );
    }

    #[test]
    fn duplicates_inside_any_member_are_refused() {
        let wanted = vec![
            ("realm_access".into(), Want::Raw),
            ("roles".into(), Want::Value),
        ];
        for dup in [
            &br#"{"realm_access":{"roles":["a"],"roles":["admin"]}}"#[..],
            br#"{"x":{"y":1,"y":2}}"#,
            br#"{"x":[{"y":1,"y":2}]}"#,
            br#"{"sub":"a","sub":"b"}"#,
            br#"{"roles":[],"roles":["admin"]}"#,
            br#"{"other":1,"other":2}"#,
        ] {
            assert!(parse_view(dup, &wanted).is_err());
            assert!(from_strict_slice::<serde_json::Value>(dup).is_err());
        }
        assert!(
            parse_view(br#"{"a":1} {"b":2}"#, &[]).is_err(),
            "trailing data"
        );
        assert!(parse_view(br#"[1]"#, &[]).is_err(), "not an object");
    }
}
